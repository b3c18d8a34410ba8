-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_UsageRollup" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tenantId" TEXT NOT NULL,
    "apiKeyId" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "hour" DATETIME NOT NULL,
    "requests" INTEGER NOT NULL DEFAULT 0,
    "errors" INTEGER NOT NULL DEFAULT 0,
    "cancelled" INTEGER NOT NULL DEFAULT 0,
    "promptTokens" INTEGER NOT NULL DEFAULT 0,
    "completionTokens" INTEGER NOT NULL DEFAULT 0,
    "latencySumMs" INTEGER NOT NULL DEFAULT 0,
    "ttftSumMs" INTEGER NOT NULL DEFAULT 0,
    "ttftCount" INTEGER NOT NULL DEFAULT 0,
    "lat50" INTEGER NOT NULL DEFAULT 0,
    "lat100" INTEGER NOT NULL DEFAULT 0,
    "lat250" INTEGER NOT NULL DEFAULT 0,
    "lat500" INTEGER NOT NULL DEFAULT 0,
    "lat1000" INTEGER NOT NULL DEFAULT 0,
    "lat2500" INTEGER NOT NULL DEFAULT 0,
    "lat5000" INTEGER NOT NULL DEFAULT 0,
    "lat10000" INTEGER NOT NULL DEFAULT 0,
    "lat30000" INTEGER NOT NULL DEFAULT 0,
    "latInf" INTEGER NOT NULL DEFAULT 0,
    "updatedAt" DATETIME NOT NULL
);
INSERT INTO "new_UsageRollup" ("apiKeyId", "cancelled", "completionTokens", "errors", "hour", "id", "latencySumMs", "model", "promptTokens", "requests", "tenantId", "ttftCount", "ttftSumMs", "updatedAt") SELECT "apiKeyId", "cancelled", "completionTokens", "errors", "hour", "id", "latencySumMs", "model", "promptTokens", "requests", "tenantId", "ttftCount", "ttftSumMs", "updatedAt" FROM "UsageRollup";
DROP TABLE "UsageRollup";
ALTER TABLE "new_UsageRollup" RENAME TO "UsageRollup";
CREATE INDEX "UsageRollup_tenantId_hour_idx" ON "UsageRollup"("tenantId", "hour");
CREATE UNIQUE INDEX "UsageRollup_tenantId_apiKeyId_model_hour_key" ON "UsageRollup"("tenantId", "apiKeyId", "model", "hour");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;


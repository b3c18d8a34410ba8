-- UsageRollup is rebuilt (token/latency sums declared BIGINT, like a fresh install): no table
-- references it, so the rebuild cannot cascade-delete anything (CONTRIBUTING: table rebuilds).
-- Every other table only gains columns (ALTER TABLE ADD COLUMN).
-- AlterTable
ALTER TABLE "Tenant" ADD COLUMN "dailySpendBudgetNano" BIGINT;
ALTER TABLE "Tenant" ADD COLUMN "monthlySpendBudgetNano" BIGINT;

-- AlterTable
ALTER TABLE "ApiKey" ADD COLUMN "dailySpendBudgetNano" BIGINT;
ALTER TABLE "ApiKey" ADD COLUMN "monthlySpendBudgetNano" BIGINT;

-- AlterTable
ALTER TABLE "RequestLog" ADD COLUMN "costNano" BIGINT;
ALTER TABLE "RequestLog" ADD COLUMN "priceId" TEXT;

-- CreateTable
CREATE TABLE "Price" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "backendId" TEXT NOT NULL DEFAULT '',
    "model" TEXT NOT NULL,
    "currency" TEXT NOT NULL DEFAULT 'USD',
    "inputNanoPerM" BIGINT NOT NULL,
    "cachedInputNanoPerM" BIGINT,
    "outputNanoPerM" BIGINT NOT NULL,
    "requestNano" BIGINT NOT NULL DEFAULT 0,
    "effectiveFrom" DATETIME NOT NULL,
    "source" TEXT NOT NULL DEFAULT 'console',
    "createdById" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

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
    "promptTokens" BIGINT NOT NULL DEFAULT 0,
    "completionTokens" BIGINT NOT NULL DEFAULT 0,
    "latencySumMs" BIGINT NOT NULL DEFAULT 0,
    "ttftSumMs" BIGINT NOT NULL DEFAULT 0,
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
    "costNano" BIGINT NOT NULL DEFAULT 0,
    "unpriced" INTEGER NOT NULL DEFAULT 0,
    "updatedAt" DATETIME NOT NULL
);
INSERT INTO "new_UsageRollup" ("apiKeyId", "cancelled", "completionTokens", "errors", "hour", "id", "lat100", "lat1000", "lat10000", "lat250", "lat2500", "lat30000", "lat50", "lat500", "lat5000", "latInf", "latencySumMs", "model", "promptTokens", "requests", "tenantId", "ttftCount", "ttftSumMs", "updatedAt") SELECT "apiKeyId", "cancelled", "completionTokens", "errors", "hour", "id", "lat100", "lat1000", "lat10000", "lat250", "lat2500", "lat30000", "lat50", "lat500", "lat5000", "latInf", "latencySumMs", "model", "promptTokens", "requests", "tenantId", "ttftCount", "ttftSumMs", "updatedAt" FROM "UsageRollup";
DROP TABLE "UsageRollup";
ALTER TABLE "new_UsageRollup" RENAME TO "UsageRollup";
CREATE INDEX "UsageRollup_tenantId_hour_idx" ON "UsageRollup"("tenantId", "hour");
CREATE UNIQUE INDEX "UsageRollup_tenantId_apiKeyId_model_hour_key" ON "UsageRollup"("tenantId", "apiKeyId", "model", "hour");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "Price_model_idx" ON "Price"("model");

-- CreateIndex
CREATE UNIQUE INDEX "Price_backendId_model_effectiveFrom_key" ON "Price"("backendId", "model", "effectiveFrom");


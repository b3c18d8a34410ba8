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

-- AlterTable
-- The rollup sums (promptTokens, completionTokens, latencySumMs, ttftSumMs) become BigInt in
-- the schema; on SQLite an INTEGER column already holds 64-bit values, so they stay as they are
-- (no table rebuild: CONTRIBUTING, and columns other branches add to UsageRollup are kept).
ALTER TABLE "UsageRollup" ADD COLUMN "costNano" BIGINT NOT NULL DEFAULT 0;
ALTER TABLE "UsageRollup" ADD COLUMN "unpriced" INTEGER NOT NULL DEFAULT 0;

-- CreateIndex
CREATE INDEX "Price_model_idx" ON "Price"("model");

-- CreateIndex
CREATE UNIQUE INDEX "Price_backendId_model_effectiveFrom_key" ON "Price"("backendId", "model", "effectiveFrom");


-- AlterTable
ALTER TABLE "Tenant" ADD COLUMN     "dailySpendBudgetNano" BIGINT,
ADD COLUMN     "monthlySpendBudgetNano" BIGINT;

-- AlterTable
ALTER TABLE "ApiKey" ADD COLUMN     "dailySpendBudgetNano" BIGINT,
ADD COLUMN     "monthlySpendBudgetNano" BIGINT;

-- AlterTable
ALTER TABLE "RequestLog" ADD COLUMN     "costNano" BIGINT,
ADD COLUMN     "priceId" TEXT;

-- AlterTable
ALTER TABLE "UsageRollup" ADD COLUMN     "costNano" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "unpriced" INTEGER NOT NULL DEFAULT 0,
ALTER COLUMN "promptTokens" SET DATA TYPE BIGINT,
ALTER COLUMN "completionTokens" SET DATA TYPE BIGINT,
ALTER COLUMN "latencySumMs" SET DATA TYPE BIGINT,
ALTER COLUMN "ttftSumMs" SET DATA TYPE BIGINT;

-- CreateTable
CREATE TABLE "Price" (
    "id" TEXT NOT NULL,
    "backendId" TEXT NOT NULL DEFAULT '',
    "model" TEXT NOT NULL,
    "currency" TEXT NOT NULL DEFAULT 'USD',
    "inputNanoPerM" BIGINT NOT NULL,
    "cachedInputNanoPerM" BIGINT,
    "outputNanoPerM" BIGINT NOT NULL,
    "requestNano" BIGINT NOT NULL DEFAULT 0,
    "effectiveFrom" TIMESTAMP(3) NOT NULL,
    "source" TEXT NOT NULL DEFAULT 'console',
    "createdById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Price_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Price_model_idx" ON "Price"("model");

-- CreateIndex
CREATE UNIQUE INDEX "Price_backendId_model_effectiveFrom_key" ON "Price"("backendId", "model", "effectiveFrom");


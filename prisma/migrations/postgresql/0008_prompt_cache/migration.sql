-- AlterTable
ALTER TABLE "RoutingPolicy" ADD COLUMN     "affinity" TEXT NOT NULL DEFAULT 'none';

-- AlterTable
ALTER TABLE "RequestLog" ADD COLUMN     "cachedTokens" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
-- 64-bit like the other rollup sums (0010_spend widens those)
ALTER TABLE "UsageRollup" ADD COLUMN     "cachedTokens" BIGINT NOT NULL DEFAULT 0;


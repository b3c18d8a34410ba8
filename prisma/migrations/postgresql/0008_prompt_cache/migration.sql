-- AlterTable
ALTER TABLE "RoutingPolicy" ADD COLUMN     "affinity" TEXT NOT NULL DEFAULT 'none';

-- AlterTable
ALTER TABLE "RequestLog" ADD COLUMN     "cachedTokens" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "UsageRollup" ADD COLUMN     "cachedTokens" INTEGER NOT NULL DEFAULT 0;


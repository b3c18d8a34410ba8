-- Plain ADD COLUMN: Prisma's table rebuild would cascade-delete RoutingPolicyVersion rows
-- inside our migration transaction (CONTRIBUTING, "SQLite table rebuilds lose data").
ALTER TABLE "RoutingPolicy" ADD COLUMN "affinity" TEXT NOT NULL DEFAULT 'none';
ALTER TABLE "RequestLog" ADD COLUMN "cachedTokens" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "UsageRollup" ADD COLUMN "cachedTokens" INTEGER NOT NULL DEFAULT 0;

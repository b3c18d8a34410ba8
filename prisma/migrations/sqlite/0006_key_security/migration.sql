-- AlterTable
ALTER TABLE "ApiKey" ADD COLUMN "ipAllowlist" TEXT;
ALTER TABLE "ApiKey" ADD COLUMN "signingPrevEnc" TEXT;
ALTER TABLE "ApiKey" ADD COLUMN "signingPrevUntil" DATETIME;
ALTER TABLE "ApiKey" ADD COLUMN "signingSecretEnc" TEXT;

-- AlterTable
ALTER TABLE "Tenant" ADD COLUMN "ipAllowlist" TEXT;

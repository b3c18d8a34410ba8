-- AlterTable
ALTER TABLE "ApiKey" ADD COLUMN     "ipAllowlist" TEXT,
ADD COLUMN     "signingPrevEnc" TEXT,
ADD COLUMN     "signingPrevUntil" TIMESTAMP(3),
ADD COLUMN     "signingSecretEnc" TEXT;

-- AlterTable
ALTER TABLE "Tenant" ADD COLUMN     "ipAllowlist" TEXT;

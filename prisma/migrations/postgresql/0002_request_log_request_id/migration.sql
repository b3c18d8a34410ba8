-- AlterTable
-- (hand-edited: existing rows get their id as request id before the column becomes required)
ALTER TABLE "RequestLog" ADD COLUMN     "requestId" TEXT;
UPDATE "RequestLog" SET "requestId" = "id";
ALTER TABLE "RequestLog" ALTER COLUMN "requestId" SET NOT NULL;

-- CreateIndex
CREATE INDEX "RequestLog_tenantId_requestId_idx" ON "RequestLog"("tenantId", "requestId");


-- CreateTable
CREATE TABLE "StoredResponse" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "apiKeyId" TEXT,
    "userId" TEXT,
    "model" TEXT NOT NULL,
    "input" TEXT NOT NULL,
    "output" TEXT NOT NULL,
    "response" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "StoredResponse_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "StoredResponse_tenantId_createdAt_idx" ON "StoredResponse"("tenantId", "createdAt");

-- CreateIndex
CREATE INDEX "StoredResponse_expiresAt_idx" ON "StoredResponse"("expiresAt");

-- AddForeignKey
ALTER TABLE "StoredResponse" ADD CONSTRAINT "StoredResponse_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;


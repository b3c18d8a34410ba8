-- AlterTable
ALTER TABLE "Backend" ADD COLUMN     "public" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "BackendGrant" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "backendId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "BackendGrant_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "BackendGrant_backendId_idx" ON "BackendGrant"("backendId");

-- CreateIndex
CREATE UNIQUE INDEX "BackendGrant_tenantId_backendId_key" ON "BackendGrant"("tenantId", "backendId");

-- AddForeignKey
ALTER TABLE "BackendGrant" ADD CONSTRAINT "BackendGrant_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "BackendGrant" ADD CONSTRAINT "BackendGrant_backendId_fkey" FOREIGN KEY ("backendId") REFERENCES "Backend"("id") ON DELETE CASCADE ON UPDATE CASCADE;


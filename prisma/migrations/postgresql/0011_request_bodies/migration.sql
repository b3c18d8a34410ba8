-- CreateTable
CREATE TABLE "LogPolicy" (
    "tenantId" TEXT NOT NULL,
    "bodiesEnabled" BOOLEAN NOT NULL DEFAULT false,
    "bodyKeyIds" TEXT,
    "bodySampleRate" DOUBLE PRECISION NOT NULL DEFAULT 1,
    "redactPatterns" TEXT NOT NULL DEFAULT '[]',
    "bodyRetentionDays" INTEGER NOT NULL DEFAULT 30,
    "usageRetentionDays" INTEGER,
    "viewersSeeBodies" BOOLEAN NOT NULL DEFAULT false,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "LogPolicy_pkey" PRIMARY KEY ("tenantId")
);

-- CreateTable
CREATE TABLE "RequestBody" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "bytes" INTEGER NOT NULL,
    "truncated" BOOLEAN NOT NULL DEFAULT false,
    "redactions" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RequestBody_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "RequestBody_tenantId_createdAt_idx" ON "RequestBody"("tenantId", "createdAt");

-- CreateIndex
CREATE INDEX "RequestBody_createdAt_idx" ON "RequestBody"("createdAt");

-- AddForeignKey
ALTER TABLE "LogPolicy" ADD CONSTRAINT "LogPolicy_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RequestBody" ADD CONSTRAINT "RequestBody_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;


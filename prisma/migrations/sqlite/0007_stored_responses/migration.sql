-- CreateTable
CREATE TABLE "StoredResponse" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tenantId" TEXT NOT NULL,
    "apiKeyId" TEXT,
    "userId" TEXT,
    "model" TEXT NOT NULL,
    "input" TEXT NOT NULL,
    "output" TEXT NOT NULL,
    "response" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" DATETIME NOT NULL,
    CONSTRAINT "StoredResponse_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "StoredResponse_tenantId_createdAt_idx" ON "StoredResponse"("tenantId", "createdAt");

-- CreateIndex
CREATE INDEX "StoredResponse_expiresAt_idx" ON "StoredResponse"("expiresAt");


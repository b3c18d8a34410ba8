-- CreateTable
CREATE TABLE "LogPolicy" (
    "tenantId" TEXT NOT NULL PRIMARY KEY,
    "bodiesEnabled" BOOLEAN NOT NULL DEFAULT false,
    "bodyKeyIds" TEXT,
    "bodySampleRate" REAL NOT NULL DEFAULT 1,
    "redactPatterns" TEXT NOT NULL DEFAULT '[]',
    "bodyRetentionDays" INTEGER NOT NULL DEFAULT 30,
    "usageRetentionDays" INTEGER,
    "viewersSeeBodies" BOOLEAN NOT NULL DEFAULT false,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "LogPolicy_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "RequestBody" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tenantId" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "bytes" INTEGER NOT NULL,
    "truncated" BOOLEAN NOT NULL DEFAULT false,
    "redactions" INTEGER NOT NULL DEFAULT 0,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "RequestBody_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "RequestBody_tenantId_createdAt_idx" ON "RequestBody"("tenantId", "createdAt");

-- CreateIndex
CREATE INDEX "RequestBody_createdAt_idx" ON "RequestBody"("createdAt");


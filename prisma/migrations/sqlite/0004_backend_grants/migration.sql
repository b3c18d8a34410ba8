-- CreateTable
CREATE TABLE "BackendGrant" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tenantId" TEXT NOT NULL,
    "backendId" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "BackendGrant_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "BackendGrant_backendId_fkey" FOREIGN KEY ("backendId") REFERENCES "Backend" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Backend" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL DEFAULT 'openai',
    "baseUrl" TEXT NOT NULL,
    "credentialEnc" TEXT,
    "models" TEXT NOT NULL DEFAULT '[]',
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "health" TEXT NOT NULL DEFAULT 'unknown',
    "lastCheckedAt" DATETIME,
    "lastError" TEXT,
    "latencyMs" INTEGER,
    "connectTimeoutMs" INTEGER NOT NULL DEFAULT 5000,
    "firstTokenTimeoutMs" INTEGER NOT NULL DEFAULT 60000,
    "totalTimeoutMs" INTEGER NOT NULL DEFAULT 600000,
    "public" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);
INSERT INTO "new_Backend" ("baseUrl", "connectTimeoutMs", "createdAt", "credentialEnc", "enabled", "firstTokenTimeoutMs", "health", "id", "kind", "lastCheckedAt", "lastError", "latencyMs", "models", "name", "totalTimeoutMs", "updatedAt") SELECT "baseUrl", "connectTimeoutMs", "createdAt", "credentialEnc", "enabled", "firstTokenTimeoutMs", "health", "id", "kind", "lastCheckedAt", "lastError", "latencyMs", "models", "name", "totalTimeoutMs", "updatedAt" FROM "Backend";
DROP TABLE "Backend";
ALTER TABLE "new_Backend" RENAME TO "Backend";
CREATE UNIQUE INDEX "Backend_name_key" ON "Backend"("name");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "BackendGrant_backendId_idx" ON "BackendGrant"("backendId");

-- CreateIndex
CREATE UNIQUE INDEX "BackendGrant_tenantId_backendId_key" ON "BackendGrant"("tenantId", "backendId");


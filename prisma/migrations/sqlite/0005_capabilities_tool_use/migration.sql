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
    "vision" BOOLEAN,
    "visionModels" TEXT NOT NULL DEFAULT '[]',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);
INSERT INTO "new_Backend" ("baseUrl", "connectTimeoutMs", "createdAt", "credentialEnc", "enabled", "firstTokenTimeoutMs", "health", "id", "kind", "lastCheckedAt", "lastError", "latencyMs", "models", "name", "public", "totalTimeoutMs", "updatedAt") SELECT "baseUrl", "connectTimeoutMs", "createdAt", "credentialEnc", "enabled", "firstTokenTimeoutMs", "health", "id", "kind", "lastCheckedAt", "lastError", "latencyMs", "models", "name", "public", "totalTimeoutMs", "updatedAt" FROM "Backend";
DROP TABLE "Backend";
ALTER TABLE "new_Backend" RENAME TO "Backend";
CREATE UNIQUE INDEX "Backend_name_key" ON "Backend"("name");
CREATE TABLE "new_RequestLog" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "requestId" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "apiKeyId" TEXT,
    "userId" TEXT,
    "endpoint" TEXT NOT NULL,
    "modelRequested" TEXT NOT NULL,
    "modelUsed" TEXT,
    "backendId" TEXT,
    "policyId" TEXT,
    "routeReason" TEXT,
    "attempts" TEXT,
    "status" TEXT NOT NULL,
    "httpStatus" INTEGER NOT NULL,
    "errorCode" TEXT,
    "errorMessage" TEXT,
    "stream" BOOLEAN NOT NULL DEFAULT false,
    "cached" BOOLEAN NOT NULL DEFAULT false,
    "promptTokens" INTEGER NOT NULL DEFAULT 0,
    "completionTokens" INTEGER NOT NULL DEFAULT 0,
    "toolsOffered" INTEGER NOT NULL DEFAULT 0,
    "toolCalls" INTEGER NOT NULL DEFAULT 0,
    "ttftMs" INTEGER,
    "latencyMs" INTEGER NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO "new_RequestLog" ("apiKeyId", "attempts", "backendId", "cached", "completionTokens", "createdAt", "endpoint", "errorCode", "errorMessage", "httpStatus", "id", "latencyMs", "modelRequested", "modelUsed", "policyId", "promptTokens", "requestId", "routeReason", "status", "stream", "tenantId", "ttftMs", "userId") SELECT "apiKeyId", "attempts", "backendId", "cached", "completionTokens", "createdAt", "endpoint", "errorCode", "errorMessage", "httpStatus", "id", "latencyMs", "modelRequested", "modelUsed", "policyId", "promptTokens", "requestId", "routeReason", "status", "stream", "tenantId", "ttftMs", "userId" FROM "RequestLog";
DROP TABLE "RequestLog";
ALTER TABLE "new_RequestLog" RENAME TO "RequestLog";
CREATE INDEX "RequestLog_tenantId_createdAt_idx" ON "RequestLog"("tenantId", "createdAt");
CREATE INDEX "RequestLog_tenantId_apiKeyId_createdAt_idx" ON "RequestLog"("tenantId", "apiKeyId", "createdAt");
CREATE INDEX "RequestLog_tenantId_modelRequested_createdAt_idx" ON "RequestLog"("tenantId", "modelRequested", "createdAt");
CREATE INDEX "RequestLog_tenantId_status_createdAt_idx" ON "RequestLog"("tenantId", "status", "createdAt");
CREATE INDEX "RequestLog_tenantId_requestId_idx" ON "RequestLog"("tenantId", "requestId");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;


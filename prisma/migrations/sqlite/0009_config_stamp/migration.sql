-- CreateTable
CREATE TABLE "ConfigStamp" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "version" INTEGER NOT NULL DEFAULT 0
);


-- the one row every change bumps (server/services/routing/config-cache.ts)
INSERT INTO "ConfigStamp" ("id", "version") VALUES (1, 0);

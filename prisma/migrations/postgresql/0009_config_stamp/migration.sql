-- CreateTable
CREATE TABLE "ConfigStamp" (
    "id" INTEGER NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "ConfigStamp_pkey" PRIMARY KEY ("id")
);


-- the one row every change bumps (server/services/routing/config-cache.ts)
INSERT INTO "ConfigStamp" ("id", "version") VALUES (1, 0);

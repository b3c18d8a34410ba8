-- Hand-edited: Prisma's diff redefines "Backend" and "RequestLog" here (CREATE new_…,
-- copy, DROP, RENAME). Under our migrator each migration runs in a transaction, where
-- `PRAGMA foreign_keys=OFF` is a no-op, so `DROP TABLE "Backend"` would cascade and
-- delete every "BackendGrant" row; it would also copy the whole request log. Adding
-- the columns gives the same schema (columns appended at the end) without either.

-- AlterTable
ALTER TABLE "Backend" ADD COLUMN "vision" BOOLEAN;
ALTER TABLE "Backend" ADD COLUMN "visionModels" TEXT NOT NULL DEFAULT '[]';

-- AlterTable
ALTER TABLE "RequestLog" ADD COLUMN "toolsOffered" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "RequestLog" ADD COLUMN "toolCalls" INTEGER NOT NULL DEFAULT 0;

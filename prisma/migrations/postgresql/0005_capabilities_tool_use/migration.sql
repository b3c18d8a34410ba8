-- AlterTable
ALTER TABLE "Backend" ADD COLUMN     "vision" BOOLEAN,
ADD COLUMN     "visionModels" TEXT NOT NULL DEFAULT '[]';

-- AlterTable
ALTER TABLE "RequestLog" ADD COLUMN     "toolCalls" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "toolsOffered" INTEGER NOT NULL DEFAULT 0;


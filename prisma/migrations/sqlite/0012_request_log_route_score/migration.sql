-- AlterTable
ALTER TABLE "RequestLog" ADD COLUMN "routeScore" REAL;


-- Backfill: rows written before this column hold the score only in their route reason,
-- "difficulty: score=0.1234 …" (server/routing/router.ts: 4 decimals, in [0, 1]), and
-- calibration now reads the column. Only that exact shape is read; anything else stays NULL.
UPDATE "RequestLog" SET "routeScore" = CAST(substr("routeReason", 19, 6) AS REAL)
WHERE "routeReason" GLOB 'difficulty: score=[0-9].[0-9][0-9][0-9][0-9]*' AND substr("routeReason", 25, 1) IN ('', ' ');

-- AlterTable
ALTER TABLE "RequestLog" ADD COLUMN     "routeScore" DOUBLE PRECISION;


-- Backfill: rows written before this column hold the score only in their route reason,
-- "difficulty: score=0.1234 …" (server/routing/router.ts: 4 decimals, in [0, 1]), and
-- calibration now reads the column. Only that exact shape is read; anything else stays NULL.
UPDATE "RequestLog" SET "routeScore" = CAST(substring("routeReason" from 19 for 6) AS DOUBLE PRECISION)
WHERE "routeReason" ~ '^difficulty: score=[0-9]\.[0-9]{4}( |$)';

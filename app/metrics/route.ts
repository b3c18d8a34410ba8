import { metricsResponse } from "@/server/metrics/route";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";
export const GET = metricsResponse;

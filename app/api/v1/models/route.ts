import { v1Route } from "@/server/api/v1/handler";
import { listModelsV1 } from "@/server/api/v1/models";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";
export const GET = v1Route({ endpoint: "models", scope: "models" }, listModelsV1);

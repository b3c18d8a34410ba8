import { v1Route } from "@/server/api/v1/handler";
import { getModelV1 } from "@/server/api/v1/models";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

// Model ids may contain "/" (e.g. "org/model"), hence the catch-all segment.
const modelName = (req: Request) => decodeURIComponent(new URL(req.url).pathname.split("/api/v1/models/")[1] ?? "");
export const GET = v1Route({ endpoint: "models", scope: "models" }, (ctx, _body, req) => getModelV1(ctx, modelName(req)));

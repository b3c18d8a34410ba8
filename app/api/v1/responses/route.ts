import { createResponse, estimateResponse, responsesRoute } from "@/server/api/v1/responses/responses";
import { ResponsesRequest } from "@/server/api/v1/responses/schemas";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";
export const POST = responsesRoute({ endpoint: "responses", scope: "chat", schema: ResponsesRequest, estimate: estimateResponse }, createResponse);

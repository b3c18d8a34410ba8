import { getResponse, removeResponse, responsesRoute } from "@/server/api/v1/responses/responses";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";
export const GET = responsesRoute({ endpoint: "responses.get", scope: "chat" }, getResponse);
export const DELETE = responsesRoute({ endpoint: "responses.delete", scope: "chat" }, removeResponse);

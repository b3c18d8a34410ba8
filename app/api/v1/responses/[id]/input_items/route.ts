import { listInputItems, responsesRoute } from "@/server/api/v1/responses/responses";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";
export const GET = responsesRoute({ endpoint: "responses.input_items", scope: "chat" }, listInputItems);

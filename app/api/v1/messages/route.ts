import { anthropicDialect } from "@/server/api/v1/anthropic/errors";
import { estimateMessages, messages } from "@/server/api/v1/anthropic/messages";
import { MessagesRequest } from "@/server/api/v1/anthropic/schemas";
import { gatewayRoute } from "@/server/services/gateway/pipeline";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";
export const POST = gatewayRoute(anthropicDialect, { endpoint: "messages", scope: "chat", schema: MessagesRequest, estimate: estimateMessages }, messages);

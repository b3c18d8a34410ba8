import { anthropicDialect } from "@/server/api/v1/anthropic/errors";
import { countTokens } from "@/server/api/v1/anthropic/messages";
import { CountTokensRequest } from "@/server/api/v1/anthropic/schemas";
import { gatewayRoute } from "@/server/services/gateway/pipeline";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";
// counts against RPM and concurrency like any request; reserves and bills no tokens
export const POST = gatewayRoute(anthropicDialect, { endpoint: "messages.count_tokens", scope: "chat", schema: CountTokensRequest, estimate: () => 0 }, countTokens);

/**
 * Prompt token counts without generating (Anthropic's count_tokens): the name is
 * planned like a generation (aliases, access, image support), and the first
 * candidate counts — a local model exactly (its template and tokenizer), a remote
 * one by the gateway's estimate (~4 characters a token), since OpenAI-compatible
 * upstreams have no counting endpoint. No tokens are billed for a count.
 */
import { engineFor } from "../../inference/engine";
import { countLocalPromptTokens } from "../../inference/local-count";
import type { GenerateRequest } from "../../inference/types";
import { estimateTokens } from "../../ratelimit/estimate";
import { planRequest } from "./execute";
import type { GatewayContext } from "./types";

export async function countPromptTokens(
  ctx: GatewayContext,
  name: string,
  req: Pick<GenerateRequest, "messages" | "tools" | "toolChoice">,
): Promise<{ tokens: number; exact: boolean }> {
  const plan = await planRequest(ctx, name, { messages: req.messages });
  const c = plan.candidates[0]!;
  if (c.kind === "model") {
    await engineFor(c.model);
    ctx.usage.modelUsed = c.model.name;
    return { tokens: await countLocalPromptTokens(c.model.name, req), exact: true };
  }
  ctx.usage.modelUsed = `${c.backend.name}/${c.model}`;
  if (ctx.usage.route) ctx.usage.route.backendId = c.backend.id;
  return { tokens: estimatePromptTokens(req, 0), exact: false };
}

/** The gateway's cheap estimate for a neutral chat request (ratelimit/estimate.ts), plus `maxTokens` to generate. */
export function estimatePromptTokens(req: Pick<GenerateRequest, "messages" | "tools">, maxTokens: number): number {
  const messages = (req.messages ?? []).map((m) => ({
    content: Array.isArray(m.content) ? m.content.map((p) => (p.type === "image" ? { type: "image_url" } : p)) : m.content,
    tool_calls: m.role === "assistant" ? m.toolCalls : undefined,
  }));
  return estimateTokens("chat", { messages, tools: req.tools, max_tokens: maxTokens });
}

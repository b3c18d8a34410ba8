/**
 * Exact prompt token counts for local models (Anthropic's count_tokens): the request
 * rendered and tokenized by the pool exactly as its generation is (local-models.ts
 * `renderPrompt`), so a count and the usage row of the request agree.
 */
import { localPool } from "./engine";
import type { GenerateRequest } from "./types";

export async function countLocalPromptTokens(name: string, req: Pick<GenerateRequest, "messages" | "tools" | "toolChoice">): Promise<number> {
  return localPool().countPromptTokens(name, { mode: "chat", ...req, tenantId: "" });
}

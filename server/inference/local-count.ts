/**
 * Exact prompt token counts for local models (Anthropic's count_tokens): the
 * request rendered through the model's chat template with its tools, tokenized by
 * the model's own tokenizer — the same rendering the pool counts a generation's
 * prompt with (local-pool.ts), so a count and the usage row of the request agree.
 */
import { localPool } from "./engine";
import { checkLocalRequest, endsWithToolResults, toChatHistory, toLocalFunctions } from "./local-tools";
import type { GenerateRequest } from "./types";

export async function countLocalPromptTokens(name: string, req: Pick<GenerateRequest, "messages" | "tools" | "toolChoice">): Promise<number> {
  const full: GenerateRequest = { mode: "chat", ...req, tenantId: "" };
  checkLocalRequest(name, full);
  const tooling = toLocalFunctions(full);
  const history = toChatHistory(full.messages ?? []);
  const { model, chatWrapper } = await localPool().chatModel(name);
  return chatWrapper
    .generateContextState({
      chatHistory: endsWithToolResults(history) ? history : [...history, { type: "model", response: [] }],
      availableFunctions: tooling.functions,
    })
    .contextText.tokenize(model.tokenizer).length;
}

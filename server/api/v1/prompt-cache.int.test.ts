/**
 * The local prompt cache as a caller sees it, over real HTTP with the official `openai`
 * SDK and real llama.cpp (the tiny GGUF): `usage.prompt_tokens_details.cached_tokens` on
 * chat and legacy completions, streamed and not, the usage row and rollup's cachedTokens,
 * the Prometheus counter, no reuse across tenants, and context limits answered 400
 * `context_length_exceeded` before any stream starts.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TINY_MODEL } from "../../../scripts/tiny-gguf/make-tiny-model";

const { db } = await import("../../db/client");
const { CLI_ACTOR } = await import("../../services/audit/audit");
const { createApiKey } = await import("../../services/api-keys/api-keys");
const { usageWriter } = await import("../../services/usage/usage-writer");
const { rollupTotals } = await import("../../services/usage/queries");
const { localPool } = await import("../../inference/engine");
const { metrics } = await import("../../metrics/metrics");
const { makeTenant } = await import("../../test/fixtures");
const { startV1Server } = await import("../../test/v1-server");
const { registerTinyModel } = await import("../../test/tiny-model");

let server: { url: string; close: () => Promise<void> };
let MODEL: string;
const tenants: { id: string; client: OpenAI }[] = [];

beforeAll(async () => {
  MODEL = await registerTinyModel("v1-prompt-cache");
  server = await startV1Server();
  for (let i = 0; i < 2; i++) {
    const t = await makeTenant();
    const key = (await createApiKey(db(), CLI_ACTOR, t.id, { name: "k" })).key;
    tenants.push({ id: t.id, client: new OpenAI({ baseURL: `${server.url}/api/v1`, apiKey: key, maxRetries: 0 }) });
  }
}, 120_000);

afterAll(async () => {
  await server?.close();
  await localPool().close();
});

const SYSTEM = "You are the Switchyard test assistant. Answer briefly, politely and in plain words. ".repeat(5);
const turn1: OpenAI.ChatCompletionMessageParam[] = [
  { role: "system", content: SYSTEM },
  { role: "user", content: "Hello there, who are you?" },
];
const turn2: OpenAI.ChatCompletionMessageParam[] = [...turn1, { role: "assistant", content: TINY_MODEL.chatReply }, { role: "user", content: "What do you do?" }];

async function counter(result: "hit" | "miss"): Promise<number> {
  const m = (await metrics().promptCacheTokens.get()).values.find((v) => v.labels.result === result && v.labels.model === MODEL);
  return m?.value ?? 0;
}

describe("prompt cache through /api/v1", () => {
  it("reports cached_tokens on the second turn, in the usage row, the rollup and Prometheus", async () => {
    const { id, client } = tenants[0]!;
    const hitsBefore = await counter("hit");
    const first = await client.chat.completions.create({ model: MODEL, messages: turn1, max_tokens: 16, temperature: 0 });
    expect(first.usage?.prompt_tokens_details?.cached_tokens).toBe(0);
    const { data: second, response } = await client.chat.completions
      .create({ model: MODEL, messages: turn2, max_tokens: 16, temperature: 0 })
      .withResponse();
    const cached = second.usage!.prompt_tokens_details!.cached_tokens!;
    expect(second.choices[0]!.message.content).toBe(TINY_MODEL.chatReply);
    expect(cached).toBeGreaterThanOrEqual(first.usage!.prompt_tokens - 1);
    expect(cached).toBeLessThan(second.usage!.prompt_tokens);
    expect((await counter("hit")) - hitsBefore).toBe(cached);

    await usageWriter().flush();
    const row = await db().requestLog.findFirstOrThrow({ where: { tenantId: id, requestId: response.headers.get("x-request-id")! } });
    expect(row.cachedTokens).toBe(cached);
    const hour = 3600_000;
    const now = Date.now();
    const totals = await rollupTotals(db(), id, new Date(Math.floor(now / hour) * hour - hour), new Date(Math.floor(now / hour) * hour + hour));
    expect(totals.cachedTokens).toBe(cached);
  });

  it("streams cached_tokens in the final usage chunk, and reports it on legacy completions", async () => {
    const { client } = tenants[0]!;
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: turn2,
      max_tokens: 16,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expect(usage!.prompt_tokens_details!.cached_tokens).toBe(usage!.prompt_tokens - 1); // the same conversation again

    const prompt = `${TINY_MODEL.safeCompletionPrompts[0]} in a land far away`;
    await client.completions.create({ model: MODEL, prompt, max_tokens: 8, temperature: 0 });
    const again = await client.completions.create({ model: MODEL, prompt: `${prompt} there lived`, max_tokens: 8, temperature: 0 });
    expect(again.usage?.prompt_tokens_details?.cached_tokens).toBeGreaterThan(0);
  });

  it("another tenant sending the identical conversation gets no cached tokens", async () => {
    const [a, b] = tenants;
    // fill both slots with tenant A's conversations, so B must take one of A's slots
    await a!.client.chat.completions.create({ model: MODEL, messages: turn2, max_tokens: 16, temperature: 0 });
    await Promise.all([
      a!.client.chat.completions.create({ model: MODEL, messages: turn2, max_tokens: 16, temperature: 0 }),
      a!.client.chat.completions.create({ model: MODEL, messages: turn1, max_tokens: 16, temperature: 0 }),
    ]);
    const res = await b!.client.chat.completions.create({ model: MODEL, messages: turn2, max_tokens: 16, temperature: 0 });
    expect(res.usage?.prompt_tokens_details?.cached_tokens).toBe(0);
    expect(res.choices[0]!.message.content).toBe(TINY_MODEL.chatReply);
  });
});

describe("context limits through /api/v1", () => {
  it("a prompt longer than the context is a 400 context_length_exceeded, streamed or not", async () => {
    const { client } = tenants[0]!;
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "word ".repeat(3000) }];
    for (const stream of [false, true]) {
      const e = await client.chat.completions.create({ model: MODEL, messages, stream }).then(
        () => null,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(OpenAI.BadRequestError);
      const err = e as InstanceType<typeof OpenAI.BadRequestError>;
      expect(err.code).toBe("context_length_exceeded");
      expect(err.message).toMatch(/maximum context length is 2048 tokens, but the prompt is \d{4,} tokens/);
    }
  });

  it("prompt + max_tokens over the context is a 400 naming both numbers", async () => {
    const { client } = tenants[0]!;
    const e = await client.completions.create({ model: MODEL, prompt: "Hello", max_tokens: 5000 }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(OpenAI.BadRequestError);
    const err = e as InstanceType<typeof OpenAI.BadRequestError>;
    expect(err.code).toBe("context_length_exceeded");
    expect(err.param).toBe("max_tokens");
    expect(err.message).toMatch(/maximum context length is 2048 tokens, but 50\d\d tokens were requested \(\d+ in the prompt, 5000 for the completion\)/);
  });
});

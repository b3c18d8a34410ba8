/**
 * Checks every answer the /api/v1 test server (v1-server.ts) sends against the zod the
 * handlers build with (server/api/v1/**\/response-schemas.ts): each JSON body and each SSE
 * event, by route, status and content type. Strict: a field the schema does not know fails
 * like a missing or mistyped one. A violation is recorded here and fails the running test
 * (setup-env.ts checks after each test), whatever the test itself asserts.
 */
import { isDeepStrictEqual } from "node:util";
import type { z } from "zod";
import {
  AnthropicError,
  AnthropicMessage,
  AnthropicStreamEvent,
  CountTokensResult,
} from "../api/v1/anthropic/response-schemas";
import { ChatCompletion, ChatCompletionChunk, Completion, Embeddings, ErrorEnvelope, Model, ModelList } from "../api/v1/response-schemas";
import {
  ResponseDeleted,
  ResponseInputItems,
  ResponseObject,
  ResponseStreamError,
  ResponseStreamEvent,
} from "../api/v1/responses/response-schemas";

type Schema = z.ZodType;

interface Route {
  json: Schema;
  /** the data of one SSE event; `named`: the event name must equal the data's `type` */
  sse?: { data: Schema; named: boolean; end?: string };
}

const ROUTES: { method: string; path: RegExp; route: Route }[] = [
  { method: "POST", path: /^\/api\/v1\/chat\/completions$/, route: { json: ChatCompletion, sse: { data: ChatCompletionChunk, named: false, end: "[DONE]" } } },
  { method: "POST", path: /^\/api\/v1\/completions$/, route: { json: Completion, sse: { data: Completion, named: false, end: "[DONE]" } } },
  { method: "POST", path: /^\/api\/v1\/embeddings$/, route: { json: Embeddings } },
  { method: "GET", path: /^\/api\/v1\/models$/, route: { json: ModelList } },
  { method: "GET", path: /^\/api\/v1\/models\/.+$/, route: { json: Model } },
  { method: "POST", path: /^\/api\/v1\/responses$/, route: { json: ResponseObject, sse: { data: ResponseStreamEvent.or(ResponseStreamError), named: true } } },
  { method: "GET", path: /^\/api\/v1\/responses\/[^/]+$/, route: { json: ResponseObject } },
  { method: "DELETE", path: /^\/api\/v1\/responses\/[^/]+$/, route: { json: ResponseDeleted } },
  { method: "GET", path: /^\/api\/v1\/responses\/[^/]+\/input_items$/, route: { json: ResponseInputItems } },
  { method: "POST", path: /^\/api\/v1\/messages$/, route: { json: AnthropicMessage, sse: { data: AnthropicStreamEvent, named: true } } },
  { method: "POST", path: /^\/api\/v1\/messages\/count_tokens$/, route: { json: CountTokensResult } },
];

const violations: string[] = [];
/** where a server in a process of its own sends its violations instead (v1-server-child.ts) */
let forward: ((violation: string) => void) | null = null;

/** The violations recorded since the last call, cleared. */
export function takeWireViolations(): string[] {
  return violations.splice(0);
}

/** Records a violation another process found (startV1ServerChild relays its server's). */
export function addWireViolation(violation: string): void {
  violations.push(violation);
}

/** In a server process of its own: hand each violation to `to` (the parent's relay) rather than keep it. */
export function forwardWireViolations(to: (violation: string) => void): void {
  forward = to;
}

/** Where `parsed` (zod's output, unknown keys stripped) and `raw` first differ: a key the schema does not know. */
function firstDifference(raw: unknown, parsed: unknown, at = "$"): string {
  if (raw && parsed && typeof raw === "object" && typeof parsed === "object") {
    for (const k of Object.keys(raw)) {
      if (!(k in parsed)) return `${at}.${k} is not in the schema`;
      const d = firstDifference((raw as Record<string, unknown>)[k], (parsed as Record<string, unknown>)[k], `${at}.${k}`);
      if (d) return d;
    }
    return "";
  }
  return isDeepStrictEqual(raw, parsed) ? "" : `${at} changed by parsing`;
}

/** Why `value` is not exactly of `schema`, or null when it is. */
export function wireMismatch(schema: Schema, value: unknown): string | null {
  const r = schema.safeParse(value);
  if (!r.success) return r.error.issues.map((i) => `${i.path.join(".") || "$"}: ${i.message}`).join("; ");
  if (isDeepStrictEqual(r.data, value)) return null;
  return firstDifference(value, r.data) || "unknown keys";
}

function record(where: string, problem: string, text: string) {
  const violation = `${where}: ${problem}\n  in ${text.slice(0, 500)}`;
  if (forward) forward(violation);
  else violations.push(violation);
}

/**
 * A checker for one answer: feed it the body's bytes as they are sent, then call `end`.
 * Answers outside /api/v1's dialects (/metrics, the OpenAPI document) are not checked.
 */
export function wireChecker(method: string, path: string, status: number, contentType: string | null) {
  const entry = ROUTES.find((r) => r.method === method && r.path.test(path));
  const anthropic = /^\/api\/v1\/messages(\/|$)/.test(path);
  const where = `${method} ${path} ${status}`;
  const isV1 = path.startsWith("/api/v1/") && !path.startsWith("/api/v1/openapi.json");
  const sse = contentType?.startsWith("text/event-stream") ?? false;
  const decoder = new TextDecoder();
  let text = "";
  let checked = 0;

  const checkEvent = (raw: string) => {
    if (!entry?.route.sse) return record(where, "an event stream from a route that does not stream", raw);
    const { data: schema, named, end } = entry.route.sse;
    const name = /^event: (.*)$/m.exec(raw)?.[1];
    const data = raw
      .split("\n")
      .filter((l) => l.startsWith("data: "))
      .map((l) => l.slice(6))
      .join("\n");
    if (end !== undefined && data === end) return;
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      return record(where, "an event whose data is not JSON", raw);
    }
    // a failure after the stream started: OpenAI's streams end with the error envelope
    const problem = !named && value && typeof value === "object" && "error" in value ? wireMismatch(ErrorEnvelope, value) : wireMismatch(schema, value);
    if (problem) return record(where, problem, raw);
    if (named && name !== (value as { type?: string }).type) record(where, `event name ${name} is not the data's type`, raw);
  };

  return {
    write(chunk: Uint8Array) {
      if (!isV1) return;
      text += decoder.decode(chunk, { stream: true });
      if (!sse) return;
      for (let i = text.indexOf("\n\n", checked); i >= 0; i = text.indexOf("\n\n", checked)) {
        checkEvent(text.slice(checked, i));
        checked = i + 2;
      }
    },
    end() {
      if (!isV1 || sse) return;
      if (!text) return record(where, "an empty body", "");
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        return record(where, "a body that is not JSON", text);
      }
      const schema = status >= 400 ? (anthropic ? AnthropicError : ErrorEnvelope) : entry?.route.json;
      if (!schema) return record(where, "an answer from a route the wire check does not know", text);
      const problem = wireMismatch(schema, value);
      if (problem) record(where, problem, text);
    },
  };
}

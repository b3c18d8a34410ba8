/**
 * Tool calling for local models: maps the neutral GenerateRequest (`tools`, `toolChoice`,
 * `messages` with tool calls and results) to node-llama-cpp's function calling, and back.
 * Pure functions, no llama.cpp: local-pool.ts drives generation.
 *
 * Tools → `functions`
 * -------------------
 * Each tool becomes a node-llama-cpp function without a handler, so LlamaChat stops with
 * stopReason "functionCalls". Its JSON schema goes through `sanitizeToolSchema`, which maps
 * it onto what node-llama-cpp's GBNF JSON-schema converter (GbnfJsonSchema) can enforce
 * and refuses (AppError invalid, code "invalid_tool_schema", naming the keyword and the
 * tool) anything it cannot — before generation starts, never a silently looser grammar.
 *
 * - Enforced as given: `type` (string, number, integer, boolean, null, object, array, or a
 *   list of them), `enum` / `const` of primitives, `properties`, `required` (see below),
 *   `additionalProperties` (true or a schema; false and absent both mean "no extra keys",
 *   which only narrows what is generated), `minProperties`/`maxProperties` (only on objects
 *   without optional properties), `items` (a schema, or false after `prefixItems`),
 *   `prefixItems`, `minItems`, `maxItems`, `minLength`/`maxLength` (plain strings),
 *   `format` date-time / date / time, `oneOf` and `anyOf` (both become a grammar
 *   alternation, i.e. "at least one branch"), single-branch `allOf`, `$ref` to
 *   `#/$defs/…` or `#/definitions/…` with `$defs`/`definitions` (recursion allowed).
 * - `{}` / `true` (any JSON value) becomes an alternation of every type: node-llama-cpp
 *   alone would turn a type-less schema into `null`.
 * - Dropped because they only annotate: `title`, `examples`, `default`, `deprecated`,
 *   `readOnly`, `writeOnly`, `$schema`, `$id`, `$comment`, `$anchor`, `uniqueItems: false`,
 *   `additionalProperties: false`, `strict`. `description` is kept (the wrapper documents it).
 * - Value constraints GBNF here cannot enforce — `pattern`, `minimum`, `maximum`,
 *   `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf`, `uniqueItems: true`, `format`
 *   other than date-time/date/time: on a tool that is not `strict` (OpenAI's default: the
 *   schema guides the model, nothing is guaranteed) they are written into the property's
 *   description, so the model reads them as it would at OpenAI; on a `strict: true` tool
 *   (which promises schema-valid arguments) they are refused.
 * - Refused always (they change the shape of valid arguments): `not`, `if`/`then`/`else`,
 *   multi-branch `allOf`, `patternProperties`, `propertyNames`, `dependentRequired`,
 *   `dependentSchemas`, `dependencies`, `unevaluated*`, `contains`, `minContains`,
 *   `maxContains`, `content*`, `enum`/`const` with object or array values, `$ref`
 *   elsewhere, and any keyword we do not know.
 *
 * Optional properties: node-llama-cpp's object grammar makes EVERY listed property
 * required. A property not in `required` therefore becomes "its schema or null", and
 * `stripAddedNulls` removes the nulls from the returned arguments again (a property whose
 * own schema allows null keeps it). So what the client receives is valid against its own
 * schema. Because stripping changes the text, calls to such tools are not streamed token
 * by token: their arguments arrive as one fragment when the call is complete. Calls to
 * tools without optional properties stream as generated.
 *
 * History → ChatHistoryItem[]
 * ---------------------------
 * An assistant message with `toolCalls` and the `tool` messages after it become ONE model
 * item: its text, then one `functionCall` per call (params parsed from the arguments
 * JSON, `result` = the tool message paired by `toolCallId`, not by position). An assistant
 * message right after those results continues the same model item (that is how
 * node-llama-cpp renders "answer after tool results"); its calls start a new chunk.
 * A result that parses as JSON is passed as that value (it renders as the same JSON),
 * other text as a string. A tool message no call of the preceding assistant message
 * asked for, a second result for one call, or a call without a result → 400
 * (code "invalid_tool_message", param "messages"), like OpenAI's own check. Legacy
 * function calls (empty ids) pair by name, in order.
 *
 * Generation (local-pool.ts)
 * --------------------------
 * - tool_choice "auto": the functions are offered and the model decides; "none": not offered
 *   (history with calls still renders, and response_format works again); a named choice:
 *   only that function is offered and the call forced; "required": all offered, call forced.
 * - Forcing: the chat wrapper's rendered state is marked "function call initially engaged"
 *   (node-llama-cpp's own mechanism, used by its Functionary wrapper), so generation starts
 *   in the name grammar right after the wrapper's call prefix, and then the params grammar:
 *   name and arguments are constrained whatever the weights prefer. Checked on all 15
 *   built-in wrappers' call syntaxes; the tests run it on ChatML (generic `||call:` syntax,
 *   one call per answer) and Qwen (`<tool_call>`, parallel calls).
 * - parallel_tool_calls false (and legacy `functions`) → `maxParallelFunctionCalls: 1`.
 *   Wrappers without a parallel syntax (ChatML, General, …) make one call per answer anyway.
 * - Events: per call `{ index, id: "call_…", name }` first, then `arguments` fragments (see
 *   above); `tokens` on every event, so their sum is usage.completionTokens (all sampled
 *   tokens, call syntax and end of turn included); `done` says "tool_calls" when calls were
 *   made. max_tokens in the middle of a call ends with "length" and that call incomplete.
 * - Not supported locally (400 before any work): image/audio parts ("model_not_supported"),
 *   logprobs/top_logprobs and n > 1 ("unsupported_parameter"), response_format with offered
 *   tools (node-llama-cpp cannot combine a grammar with functions). logit_bias works: token
 *   id → bias added to the logit, -100 bans; node-llama-cpp ignores biases on end-of-generation
 *   tokens.
 */
import { randomBytes } from "node:crypto";
import type { ChatHistoryItem, ChatModelFunctionCall, ChatModelFunctions, ChatModelResponse, GbnfJsonSchema } from "node-llama-cpp";
import { AppError } from "../errors";
import { type ChatMessage, type Content, contentText, type GenerateEvent, type GenerateRequest, type ToolCall, type ToolDefinition } from "./types";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Schema = Record<string, unknown>;

const ANNOTATIONS = new Set([
  "title",
  "examples",
  "default",
  "deprecated",
  "readOnly",
  "writeOnly",
  "$schema",
  "$id",
  "$comment",
  "$anchor",
  "strict",
]);
const SUPPORTED_FORMATS = new Set(["date-time", "date", "time"]);
/**
 * Value constraints the grammar cannot enforce. For a tool that is not `strict` (OpenAI's
 * default, where the schema guides the model and nothing is guaranteed) they become part of
 * the property's description — the model reads them, as it would at OpenAI — instead of a
 * 400 that would make every agent whose tools use them (`format: "uri"`, `minimum: 1`)
 * unusable on local models. A `strict: true` tool promises schema-valid arguments: there they
 * are refused.
 */
const GUIDANCE_ONLY = new Set(["pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "format", "uniqueItems"]);
const PRIMITIVE_TYPES = new Set(["string", "number", "integer", "boolean", "null"]);
const ALL_TYPES = [...PRIMITIVE_TYPES, "object", "array"];

function schemaError(tool: string, message: string): AppError {
  return new AppError("invalid", `Tool '${tool}': ${message}; local models cannot enforce it`, {
    code: "invalid_tool_schema",
    param: "tools",
  });
}

function isObj(v: unknown): v is Schema {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Keywords each kind of node may carry (besides annotations and `description`). */
const ALLOWED: Record<string, Set<string>> = {
  object: new Set(["type", "properties", "required", "additionalProperties", "minProperties", "maxProperties", "$defs", "definitions"]),
  array: new Set(["type", "items", "prefixItems", "minItems", "maxItems", "uniqueItems", "$defs", "definitions"]),
  string: new Set(["type", "minLength", "maxLength", "format"]),
  primitive: new Set(["type"]),
  combinator: new Set(["oneOf", "anyOf", "allOf", "$defs", "definitions"]),
  literal: new Set(["enum", "const"]),
  ref: new Set(["$ref", "$defs", "definitions"]),
};

export interface SanitizedTool {
  name: string;
  description?: string;
  /** undefined: the function takes no arguments */
  params?: GbnfJsonSchema;
  /** the tool's own schema (normalised), for stripping the nulls we added */
  original?: Schema;
  /** whether some optional property was made nullable (arguments are then not streamed raw) */
  nullsAdded: boolean;
}

interface Ctx {
  tool: string;
  /** the tool is not strict: GUIDANCE_ONLY keywords are described instead of refused */
  lenient: boolean;
  nullsAdded: boolean;
  /** the original, normalised $defs (for stripAddedNulls) */
  defs: Record<string, Schema>;
}

function refName(tool: string, ref: string): string {
  const m = /^#\/(?:\$defs|definitions)\/([^/]+)$/.exec(ref);
  if (!m) throw schemaError(tool, `"$ref" ${JSON.stringify(ref)} is not supported (only "#/$defs/<name>")`);
  return decodeURIComponent(m[1]!.replaceAll("~1", "/").replaceAll("~0", "~"));
}

function checkKeys(ctx: Ctx, s: Schema, allowed: Set<string>, where: string) {
  for (const [k, v] of Object.entries(s)) {
    if (k === "description" || ANNOTATIONS.has(k) || allowed.has(k)) continue;
    if (k === "additionalProperties" && v === false) continue;
    throw schemaError(ctx.tool, `the JSON schema keyword "${k}" (at ${where}) is not supported`);
  }
}

function withDescription(out: Schema, s: Schema): Schema {
  if (typeof s.description === "string") out.description = s.description;
  return out;
}

function acceptsNull(s: unknown, defs: Record<string, Schema>, depth = 0): boolean {
  if (s === true || (isObj(s) && Object.keys(s).every((k) => k === "description" || ANNOTATIONS.has(k)))) return true;
  if (!isObj(s) || depth > 32) return false;
  if (typeof s.$ref === "string") {
    const m = /^#\/(?:\$defs|definitions)\/([^/]+)$/.exec(s.$ref);
    const def = m ? defs[m[1]!] : undefined;
    return def ? acceptsNull(def, defs, depth + 1) : false;
  }
  if (Array.isArray(s.type)) return s.type.includes("null");
  if (s.type === "null") return true;
  if ("const" in s) return s.const === null;
  if (Array.isArray(s.enum)) return s.enum.includes(null);
  const branches = (s.oneOf ?? s.anyOf ?? s.allOf) as unknown[] | undefined;
  if (Array.isArray(branches)) return branches.some((b) => acceptsNull(b, defs, depth + 1));
  return false;
}

/** A non-strict tool's unenforceable value constraints, moved into the description (see GUIDANCE_ONLY). */
function describeGuidance(s: Schema): Schema {
  const notes: string[] = [];
  const rest: Schema = {};
  for (const [k, v] of Object.entries(s)) {
    const enforceable = (k === "format" && typeof v === "string" && SUPPORTED_FORMATS.has(v)) || (k === "uniqueItems" && v !== true);
    if (GUIDANCE_ONLY.has(k) && !enforceable && v !== undefined) notes.push(`${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
    else rest[k] = v;
  }
  if (!notes.length) return s;
  const said = typeof s.description === "string" && s.description ? `${s.description} ` : "";
  return { ...rest, description: `${said}(${notes.join("; ")})` };
}

function convert(ctx: Ctx, raw: unknown, where: string): Schema {
  if (raw === true) return anyValue();
  if (raw === false) throw schemaError(ctx.tool, `a "false" schema (at ${where}) is not supported`);
  if (!isObj(raw)) throw schemaError(ctx.tool, `the schema at ${where} is not an object`);
  const s = ctx.lenient ? describeGuidance(raw) : raw;
  const keys = Object.keys(s).filter((k) => s[k] !== undefined && k !== "description" && !ANNOTATIONS.has(k));
  if (keys.length === 0) return withDescription(anyValue(), s);

  if (typeof s.$ref === "string") {
    checkKeys(ctx, s, ALLOWED.ref!, where);
    const name = refName(ctx.tool, s.$ref);
    if (!(name in ctx.defs)) throw schemaError(ctx.tool, `"$ref" ${JSON.stringify(s.$ref)} (at ${where}) points to no definition`);
    return withDescription({ $ref: `#/$defs/${name}` }, s);
  }
  if ("enum" in s || "const" in s) {
    checkKeys(ctx, s, new Set([...ALLOWED.literal!, "type"]), where);
    const values = "const" in s ? [s.const] : s.enum;
    if (!Array.isArray(values) || values.length === 0) throw schemaError(ctx.tool, `"enum" (at ${where}) must be a non-empty list`);
    for (const v of values) {
      if (v !== null && typeof v === "object") {
        throw schemaError(ctx.tool, `"${"const" in s ? "const" : "enum"}" with object or array values (at ${where}) is not supported`);
      }
    }
    // a `type` beside enum/const only restates it (or excludes values: keep the ones it allows)
    let kept = values as (string | number | boolean | null)[];
    if (s.type !== undefined) {
      const types = (Array.isArray(s.type) ? s.type : [s.type]) as string[];
      kept = kept.filter((v) => types.some((t) => jsonTypeMatches(t, v)));
      if (kept.length === 0) throw schemaError(ctx.tool, `"enum" (at ${where}) has no value of its "type"`);
    }
    return withDescription("const" in s && kept.length === 1 ? { const: kept[0] } : { enum: kept }, s);
  }
  for (const comb of ["oneOf", "anyOf", "allOf"] as const) {
    if (!(comb in s)) continue;
    checkKeys(ctx, s, ALLOWED.combinator!, where);
    const branches = s[comb];
    if (!Array.isArray(branches) || branches.length === 0) throw schemaError(ctx.tool, `"${comb}" (at ${where}) must be a non-empty list`);
    if (["oneOf", "anyOf", "allOf"].filter((k) => k in s).length > 1) {
      throw schemaError(ctx.tool, `combining "oneOf", "anyOf" and "allOf" (at ${where}) is not supported`);
    }
    if (comb === "allOf") {
      if (branches.length !== 1) throw schemaError(ctx.tool, `the JSON schema keyword "allOf" with several schemas (at ${where}) is not supported`);
      return withDescription(convert(ctx, branches[0], `${where}.allOf[0]`), s);
    }
    const out = branches.map((b, i) => convert(ctx, b, `${where}.${comb}[${i}]`));
    return withDescription(out.length === 1 ? out[0]! : { oneOf: out }, s);
  }
  if (s.type === undefined) {
    const first = keys[0]!;
    throw schemaError(ctx.tool, `the JSON schema keyword "${first}" (at ${where}) is not supported without a "type"`);
  }
  if (Array.isArray(s.type)) {
    const types = s.type as unknown[];
    if (types.length === 0 || !types.every((t) => typeof t === "string" && ALL_TYPES.includes(t))) {
      throw schemaError(ctx.tool, `"type" ${JSON.stringify(s.type)} (at ${where}) is not supported`);
    }
    if (types.length === 1) return convert(ctx, { ...s, type: types[0] }, where);
    if (types.every((t) => PRIMITIVE_TYPES.has(t as string)) && Object.keys(s).every((k) => k === "type" || k === "description" || ANNOTATIONS.has(k))) {
      return withDescription({ type: [...types] }, s);
    }
    // e.g. ["object", "null"] or ["string", "null"] with string keywords: one branch per type
    return withDescription(
      { oneOf: types.map((t) => convert(ctx, keepKeywordsFor(t as string, { ...s, type: t, description: undefined }), `${where}<${String(t)}>`)) },
      s,
    );
  }
  const type = s.type;
  if (typeof type !== "string" || !ALL_TYPES.includes(type)) throw schemaError(ctx.tool, `"type" ${JSON.stringify(type)} (at ${where}) is not supported`);

  if (type === "object") {
    checkKeys(ctx, s, ALLOWED.object!, where);
    const props = s.properties ?? {};
    if (!isObj(props)) throw schemaError(ctx.tool, `"properties" (at ${where}) must be an object`);
    const required = s.required ?? [];
    if (!Array.isArray(required) || !required.every((r) => typeof r === "string")) {
      throw schemaError(ctx.tool, `"required" (at ${where}) must be a list of names`);
    }
    for (const r of required) {
      if (!Object.hasOwn(props, r)) throw schemaError(ctx.tool, `"required" names "${r}" (at ${where}), which is not in "properties"`);
    }
    const out: Schema = { type: "object", properties: {} };
    let optional = false;
    for (const [name, p] of Object.entries(props)) {
      let ps = convert(ctx, p, `${where}.properties.${name}`);
      if (!required.includes(name) && !acceptsNull(p, ctx.defs)) {
        optional = true;
        ctx.nullsAdded = true;
        ps = { oneOf: [ps, { type: "null" }] };
      }
      (out.properties as Schema)[name] = ps;
    }
    if (s.additionalProperties !== undefined && s.additionalProperties !== false) {
      out.additionalProperties = s.additionalProperties === true ? true : convert(ctx, s.additionalProperties, `${where}.additionalProperties`);
    }
    for (const k of ["minProperties", "maxProperties"] as const) {
      if (s[k] === undefined) continue;
      if (optional) throw schemaError(ctx.tool, `"${k}" on an object with optional properties (at ${where}) is not supported`);
      if (typeof s[k] !== "number") throw schemaError(ctx.tool, `"${k}" (at ${where}) must be a number`);
      out[k] = s[k];
    }
    return withDescription(out, s);
  }
  if (type === "array") {
    checkKeys(ctx, s, ALLOWED.array!, where);
    if (s.uniqueItems === true) throw schemaError(ctx.tool, `the JSON schema keyword "uniqueItems" (at ${where}) is not supported`);
    const out: Schema = { type: "array" };
    if (s.prefixItems !== undefined) {
      if (!Array.isArray(s.prefixItems)) throw schemaError(ctx.tool, `"prefixItems" (at ${where}) must be a list`);
      out.prefixItems = s.prefixItems.map((p, i) => convert(ctx, p, `${where}.prefixItems[${i}]`));
    }
    if (s.items === false) {
      if (!Array.isArray(out.prefixItems)) throw schemaError(ctx.tool, `"items": false without "prefixItems" (at ${where}) is not supported`);
      out.maxItems = (out.prefixItems as unknown[]).length;
    } else if (Array.isArray(s.items)) {
      throw schemaError(ctx.tool, `"items" as a list (at ${where}) is not supported; use "prefixItems"`);
    } else if (s.items !== undefined) {
      out.items = convert(ctx, s.items, `${where}.items`);
    }
    for (const k of ["minItems", "maxItems"] as const) {
      if (s[k] === undefined) continue;
      if (typeof s[k] !== "number") throw schemaError(ctx.tool, `"${k}" (at ${where}) must be a number`);
      out[k] = k === "maxItems" && typeof out.maxItems === "number" ? Math.min(out.maxItems, s[k]) : s[k];
    }
    return withDescription(out, s);
  }
  if (type === "string") {
    checkKeys(ctx, s, ALLOWED.string!, where);
    if (s.format !== undefined) {
      if (typeof s.format !== "string" || !SUPPORTED_FORMATS.has(s.format)) {
        throw schemaError(ctx.tool, `"format": ${JSON.stringify(s.format)} (at ${where}) is not supported (only date-time, date, time)`);
      }
      if (s.minLength !== undefined || s.maxLength !== undefined) {
        throw schemaError(ctx.tool, `"minLength"/"maxLength" together with "format" (at ${where}) is not supported`);
      }
      return withDescription({ type: "string", format: s.format }, s);
    }
    const out: Schema = { type: "string" };
    for (const k of ["minLength", "maxLength"] as const) {
      if (s[k] === undefined) continue;
      if (typeof s[k] !== "number") throw schemaError(ctx.tool, `"${k}" (at ${where}) must be a number`);
      out[k] = s[k];
    }
    return withDescription(out, s);
  }
  checkKeys(ctx, s, ALLOWED.primitive!, where);
  return withDescription({ type }, s);
}

/** For a `type` list split into branches: the keywords that belong to one type. */
function keepKeywordsFor(type: string, s: Schema): Schema {
  const own = type === "object" ? ALLOWED.object! : type === "array" ? ALLOWED.array! : type === "string" ? ALLOWED.string! : ALLOWED.primitive!;
  const out: Schema = {};
  for (const [k, v] of Object.entries(s)) {
    if (v === undefined) continue;
    if (own.has(k) || ANNOTATIONS.has(k)) out[k] = v;
    else if (!ALLOWED.object!.has(k) && !ALLOWED.array!.has(k) && !ALLOWED.string!.has(k) && k !== "description") out[k] = v; // unknown: let convert refuse it
  }
  return out;
}

function anyValue(): Schema {
  return {
    oneOf: [
      { type: ["string", "number", "boolean", "null"] },
      { type: "object", additionalProperties: true },
      { type: "array" },
    ],
  };
}

function jsonTypeMatches(type: string, v: unknown): boolean {
  switch (type) {
    case "null":
      return v === null;
    case "boolean":
      return typeof v === "boolean";
    case "string":
      return typeof v === "string";
    case "integer":
      return typeof v === "number" && Number.isInteger(v);
    case "number":
      return typeof v === "number";
    case "object":
      return isObj(v);
    case "array":
      return Array.isArray(v);
    default:
      return false;
  }
}

const TOOL_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Maps one tool to a node-llama-cpp function definition; throws AppError on what cannot be enforced. */
export function sanitizeTool(tool: ToolDefinition): SanitizedTool {
  if (!TOOL_NAME.test(tool.name)) {
    throw new AppError("invalid", `Tool name '${tool.name}' is not supported: use 1-64 letters, digits, _ - . :`, {
      code: "invalid_tool_schema",
      param: "tools",
    });
  }
  const base: SanitizedTool = { name: tool.name, description: tool.description, nullsAdded: false };
  const p = tool.parameters;
  if (p === undefined || p === null) return base;
  if (!isObj(p)) throw schemaError(tool.name, "the parameters schema is not an object");
  const rootKeys = Object.keys(p).filter((k) => k !== "description" && !ANNOTATIONS.has(k));
  if (rootKeys.length === 0) return base; // {}: no declared arguments, like OpenAI
  if (p.type !== "object") throw schemaError(tool.name, `the parameters schema must have "type": "object"`);

  const rawDefs = { ...(isObj(p.definitions) ? p.definitions : {}), ...(isObj(p.$defs) ? p.$defs : {}) } as Record<string, unknown>;
  const defs: Record<string, Schema> = {};
  for (const [k, v] of Object.entries(rawDefs)) {
    if (!isObj(v) && v !== true) throw schemaError(tool.name, `the definition "${k}" is not a schema`);
    defs[k] = v === true ? {} : v;
  }
  const ctx: Ctx = { tool: tool.name, lenient: tool.strict !== true, nullsAdded: false, defs };
  const root = convert(ctx, { ...p, $defs: undefined, definitions: undefined }, "parameters");
  delete root.$defs;
  const convertedDefs: Record<string, Schema> = {};
  for (const [k, v] of Object.entries(defs)) convertedDefs[k] = convert(ctx, v, `parameters.$defs.${k}`);
  if (Object.keys(convertedDefs).length > 0) root.$defs = convertedDefs;
  return { ...base, params: root as GbnfJsonSchema, original: { ...p, $defs: defs }, nullsAdded: ctx.nullsAdded };
}

/**
 * Removes the nulls `sanitizeTool` allowed for optional properties (walking the value with
 * the tool's own schema). Inside `oneOf`/`anyOf` it follows the first branch whose type
 * matches the value.
 */
export function stripAddedNulls(value: unknown, schema: Schema | undefined): unknown {
  if (!schema) return value;
  const defs = (isObj(schema.$defs) ? schema.$defs : {}) as Record<string, Schema>;
  const walk = (v: unknown, s: unknown, depth: number): unknown => {
    if (!isObj(s) || depth > 64) return v;
    if (typeof s.$ref === "string") {
      const m = /^#\/(?:\$defs|definitions)\/([^/]+)$/.exec(s.$ref);
      return walk(v, m ? defs[m[1]!] : undefined, depth + 1);
    }
    const branches = (s.oneOf ?? s.anyOf ?? s.allOf) as unknown[] | undefined;
    if (Array.isArray(branches)) {
      const branch = branches.find((b) => isObj(b) && schemaTypeMatches(b, v, defs));
      return walk(v, branch, depth + 1);
    }
    if (isObj(v)) {
      const props = (isObj(s.properties) ? s.properties : {}) as Schema;
      const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const ps = props[k];
        if (ps !== undefined && x === null && !required.has(k) && !acceptsNull(ps, defs)) continue;
        out[k] = walk(x, ps ?? (isObj(s.additionalProperties) ? s.additionalProperties : undefined), depth + 1);
      }
      return out;
    }
    if (Array.isArray(v)) {
      const prefix = Array.isArray(s.prefixItems) ? s.prefixItems : [];
      return v.map((x, i) => walk(x, i < prefix.length ? prefix[i] : s.items, depth + 1));
    }
    return v;
  };
  return walk(value, schema, 0);
}

function schemaTypeMatches(s: Schema, v: unknown, defs: Record<string, Schema>, depth = 0): boolean {
  if (depth > 32) return false;
  if (typeof s.$ref === "string") {
    const m = /^#\/(?:\$defs|definitions)\/([^/]+)$/.exec(s.$ref);
    const d = m ? defs[m[1]!] : undefined;
    return d ? schemaTypeMatches(d, v, defs, depth + 1) : false;
  }
  if ("const" in s) return s.const === v;
  if (Array.isArray(s.enum)) return s.enum.includes(v as never);
  const branches = (s.oneOf ?? s.anyOf ?? s.allOf) as unknown[] | undefined;
  if (Array.isArray(branches)) return branches.some((b) => isObj(b) && schemaTypeMatches(b, v, defs, depth + 1));
  if (s.type === undefined) return true;
  const types = (Array.isArray(s.type) ? s.type : [s.type]) as string[];
  return types.some((t) => jsonTypeMatches(t, v));
}

export interface LocalFunctions {
  /** what LlamaChat gets; undefined: no functions offered */
  functions?: ChatModelFunctions;
  /** by name, for argument post-processing */
  tools: Map<string, SanitizedTool>;
  /** generation must start inside a call ("required" or a named choice) */
  force: boolean;
}

/**
 * The functions to offer for `tools` + `toolChoice`. Every tool's schema is checked, also
 * with tool_choice "none" (a request is valid or not whatever the choice).
 */
export function toLocalFunctions(req: Pick<GenerateRequest, "tools" | "toolChoice">): LocalFunctions {
  const all = (req.tools ?? []).map(sanitizeTool);
  const tools = new Map<string, SanitizedTool>();
  for (const t of all) {
    if (tools.has(t.name)) throw new AppError("invalid", `Tool '${t.name}' is defined twice`, { code: "invalid_tool_schema", param: "tools" });
    tools.set(t.name, t);
  }
  const choice = req.toolChoice ?? "auto";
  if (all.length === 0) {
    if (choice === "required" || typeof choice === "object") {
      throw new AppError("invalid", "tool_choice requires tools", { code: "invalid_request", param: "tool_choice" });
    }
    return { tools, force: false };
  }
  if (choice === "none") return { tools, force: false };
  let offered = all;
  if (typeof choice === "object") {
    const named = tools.get(choice.name);
    if (!named) {
      throw new AppError("invalid", `tool_choice names the tool '${choice.name}', which is not in tools`, {
        code: "invalid_request",
        param: "tool_choice",
      });
    }
    offered = [named];
  }
  const functions: Record<string, { description?: string; params?: GbnfJsonSchema }> = {};
  for (const t of offered) functions[t.name] = { ...(t.description ? { description: t.description } : {}), ...(t.params ? { params: t.params } : {}) };
  return { functions, tools, force: choice === "required" || typeof choice === "object" };
}

function invalidMessage(message: string, code = "invalid_tool_message"): AppError {
  return new AppError("invalid", message, { code, param: "messages" });
}

/** A tool result as node-llama-cpp renders it: JSON text as its value, other text as a string. */
export function toolResultValue(content: Content): unknown {
  const text = contentText(content);
  const t = text.trim();
  if (t && /^[[{"\d-]|^(true|false|null)$/.test(t)) {
    try {
      return JSON.parse(t);
    } catch {
      /* plain text */
    }
  }
  return text;
}

function parseArguments(call: ToolCall): unknown {
  if (call.arguments.trim() === "") return {};
  try {
    return JSON.parse(call.arguments);
  } catch {
    throw invalidMessage(`The arguments of tool call '${call.id || call.name}' in messages are not valid JSON`, "invalid_tool_arguments");
  }
}

/** The chat history node-llama-cpp renders, from neutral messages (text only; callers reject media first). */
export function toChatHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  /** the model item whose calls the following tool messages answer */
  let open: { item: ChatModelResponse; pending: Map<string, ChatModelFunctionCall>; legacy: ChatModelFunctionCall[]; answered: Set<string> } | null =
    null;
  /** a model item whose tool results are complete: a following assistant message continues it */
  let continuable: ChatModelResponse | null = null;

  const closeOpen = () => {
    if (!open) return;
    const missing = [...open.pending.keys()].filter((id) => !open!.answered.has(id));
    const legacyMissing = open.legacy.filter((c) => c.result === undefined);
    if (missing.length > 0 || legacyMissing.length > 0) {
      const ids = [...missing, ...legacyMissing.map((c) => c.name)];
      throw invalidMessage(
        `An assistant message with tool calls must be followed by tool messages answering each call; no result for: ${ids.join(", ")}`,
      );
    }
    continuable = open.item;
    open = null;
  };

  for (const msg of messages) {
    if (msg.role === "tool") {
      if (!open) {
        throw invalidMessage(`The tool message for '${msg.toolCallId || msg.name || "?"}' does not follow an assistant message with tool calls`);
      }
      const result = toolResultValue(msg.content);
      if (msg.toolCallId) {
        const call = open.pending.get(msg.toolCallId);
        if (!call) throw invalidMessage(`The tool message's tool_call_id '${msg.toolCallId}' matches no tool call of the assistant message before it`);
        if (open.answered.has(msg.toolCallId)) throw invalidMessage(`Tool call '${msg.toolCallId}' has more than one tool message`);
        open.answered.add(msg.toolCallId);
        call.result = result;
      } else {
        const call = open.legacy.find((c) => c.result === undefined && (!msg.name || c.name === msg.name));
        if (!call) throw invalidMessage(`The function message for '${msg.name ?? "?"}' matches no function call of the assistant message before it`);
        call.result = result;
      }
      continue;
    }
    closeOpen();
    if (msg.role !== "assistant") continuable = null;
    if (msg.role === "system") history.push({ type: "system", text: contentText(msg.content) });
    else if (msg.role === "user") history.push({ type: "user", text: contentText(msg.content) });
    else {
      const text = contentText(msg.content);
      const calls = msg.toolCalls ?? [];
      const item: ChatModelResponse = continuable ?? { type: "model", response: [] };
      const continuing = continuable !== null;
      continuable = null;
      if (text) item.response.push(text);
      if (calls.length === 0) {
        if (!continuing) {
          if (!text) item.response.push("");
          history.push(item);
        }
        continue;
      }
      const pending = new Map<string, ChatModelFunctionCall>();
      const legacy: ChatModelFunctionCall[] = [];
      calls.forEach((c, i) => {
        const fc: ChatModelFunctionCall = { type: "functionCall", name: c.name, params: parseArguments(c), result: undefined };
        if (continuing && i === 0) fc.startsNewChunk = true;
        if (c.id) {
          if (pending.has(c.id)) throw invalidMessage(`Tool call id '${c.id}' appears twice in one assistant message`);
          pending.set(c.id, fc);
        } else legacy.push(fc);
        item.response.push(fc);
      });
      if (!continuing) history.push(item);
      open = { item, pending, legacy, answered: new Set() };
    }
  }
  closeOpen();
  return history;
}

/** Whether the history ends inside a model turn that called tools (generation continues that item). */
export function endsWithToolResults(history: readonly ChatHistoryItem[]): boolean {
  const last = history.at(-1);
  return last?.type === "model" && last.response.some((r) => typeof r === "object" && r.type === "functionCall");
}

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A fresh `call_…` id (24 random base62 characters). */
export function newCallId(): string {
  const bytes = randomBytes(24);
  let s = "call_";
  for (const b of bytes) s += ID_ALPHABET[b % 62];
  return s;
}

/**
 * Streams a call's argument fragments without the whitespace the params grammar ends with
 * (node-llama-cpp's params grammar closes every call with four newlines): trailing
 * whitespace is held back until something else follows, and dropped at the end.
 */
export class ArgumentsStream {
  private held = "";
  text = "";

  /** The part of `chunk` that can be sent now ("" if none). */
  push(chunk: string): string {
    const all = this.held + chunk;
    const cut = all.length - (all.length - all.trimEnd().length);
    this.held = all.slice(cut);
    const out = all.slice(0, cut);
    this.text += out;
    return out;
  }
}

/**
 * Rejects what a local model cannot do, before any work: media parts, logprobs, n > 1,
 * response_format together with offered tools.
 */
export function checkLocalRequest(model: string, req: GenerateRequest) {
  for (const m of req.messages ?? []) {
    if (!Array.isArray(m.content)) continue;
    for (const p of m.content) {
      if (p.type === "image" || p.type === "audio") {
        throw new AppError("invalid", `The model '${model}' does not accept ${p.type} input`, { code: "model_not_supported", param: "messages" });
      }
    }
  }
  if (req.logprobs || req.topLogprobs != null) {
    const param = req.logprobs ? "logprobs" : "top_logprobs";
    throw new AppError("invalid", `${param} is not supported by local models`, { code: "unsupported_parameter", param });
  }
  if (req.n != null && req.n > 1) {
    throw new AppError("invalid", "n > 1 is not supported by local models", { code: "unsupported_parameter", param: "n" });
  }
  // pass-through fields are ignored locally (user, metadata, store, …) except what asks for another kind of answer
  const modalities = req.passthrough?.modalities;
  if (req.passthrough?.audio != null || (Array.isArray(modalities) && modalities.includes("audio"))) {
    throw new AppError("invalid", "audio output is not supported by local models", {
      code: "unsupported_parameter",
      param: req.passthrough?.audio != null ? "audio" : "modalities",
    });
  }
  if (req.grammar && req.tools?.length && req.toolChoice !== "none") {
    throw new AppError("invalid", "response_format cannot be combined with tools on a local model (unless tool_choice is \"none\")", {
      code: "unsupported_parameter",
      param: "response_format",
    });
  }
  if (req.mode === "completion" && (req.tools?.length || req.messages?.some((m) => m.role === "tool"))) {
    throw new AppError("invalid", "tools need chat mode", { code: "unsupported_parameter", param: "tools" });
  }
}

/** Which of the request's stop strings ended a generation (node-llama-cpp reports the trigger's pieces), for Anthropic's stop_sequence. */
export function stopSequenceOf(meta: { stopReason: string; customStopTrigger?: readonly unknown[] }, stop: readonly string[] | undefined): string | undefined {
  if (meta.stopReason !== "customStopTrigger" || !meta.customStopTrigger) return undefined;
  const text = meta.customStopTrigger.filter((p): p is string => typeof p === "string").join("");
  return stop?.find((s) => s === text) ?? text;
}

/** OpenAI logit_bias (token id → -100..100) as node-llama-cpp TokenBias entries; -100 bans the token. */
export function parseLogitBias(bias: Record<string, number>, vocabSize: number | undefined): [token: number, bias: number | "never"][] {
  const out: [number, number | "never"][] = [];
  for (const [k, v] of Object.entries(bias)) {
    const id = Number(k);
    if (!/^\d+$/.test(k) || !Number.isSafeInteger(id) || (vocabSize !== undefined && id >= vocabSize)) {
      throw new AppError("invalid", `logit_bias: '${k}' is not a token id of this model`, { code: "invalid_request", param: "logit_bias" });
    }
    if (typeof v !== "number" || !Number.isFinite(v) || v < -100 || v > 100) {
      throw new AppError("invalid", `logit_bias: the bias of token ${k} must be between -100 and 100`, { code: "invalid_request", param: "logit_bias" });
    }
    out.push([id, v <= -100 ? "never" : v]);
  }
  return out;
}

export type { Json };

/** What node-llama-cpp reports while it generates calls (LlamaChat's onFunctionCallParamsChunk / onFunctionCall). */
export interface ParamsChunk {
  callIndex: number;
  functionName: string;
  paramsChunk: string;
  done: boolean;
}

/**
 * Turns node-llama-cpp's function-call callbacks into `tool_call` events: per call, first
 * `{ index, id, name }`, then `arguments` fragments — streamed as generated for tools
 * without optional properties, else (nulls to strip) the final JSON in one fragment when
 * the call is complete. `takeTokens` returns the tokens sampled since the last event.
 */
export class ToolCallEvents {
  /** calls completed */
  count = 0;
  private current: { index: number; tool: SanitizedTool | undefined; stream: ArgumentsStream } | null = null;
  private readonly ids = new Set<string>();

  constructor(
    private readonly tooling: Pick<LocalFunctions, "tools">,
    private readonly out: { push(e: GenerateEvent): void },
    private readonly takeTokens: () => number,
  ) {}

  onParamsChunk(chunk: ParamsChunk) {
    const c = this.begin(chunk.callIndex, chunk.functionName);
    if (c.tool?.nullsAdded) return; // sent whole by onCall
    const text = c.stream.push(chunk.paramsChunk);
    if (text) this.out.push({ type: "tool_call", index: c.index, arguments: text, tokens: this.takeTokens() });
  }

  onCall(call: { functionName: string; params: unknown }) {
    const c = this.begin(this.count, call.functionName);
    let args = "";
    if (c.tool?.nullsAdded) args = JSON.stringify(stripAddedNulls(call.params, c.tool.original) ?? {});
    else if (c.stream.text === "") args = call.params === undefined || call.params === "" ? "{}" : JSON.stringify(call.params);
    if (args) this.out.push({ type: "tool_call", index: c.index, arguments: args, tokens: this.takeTokens() });
    this.count += 1;
    this.current = null;
  }

  private begin(index: number, name: string) {
    if (this.current && this.current.index === index) return this.current;
    let id = newCallId();
    while (this.ids.has(id)) id = newCallId();
    this.ids.add(id);
    this.current = { index, tool: this.tooling.tools.get(name), stream: new ArgumentsStream() };
    this.out.push({ type: "tool_call", index, id, name, tokens: this.takeTokens() });
    return this.current;
  }
}

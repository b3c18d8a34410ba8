/**
 * Request/response body logging — opt-in per tenant (or per key), sampled, redacted,
 * size-capped, stored apart from the usage log (RequestBody, id = the RequestLog id).
 *
 * The gateway core hands every finished request to `captureExchange` (pipeline.ts,
 * after its usage row): it returns at once, and everything else — the tenant's policy
 * (cached a second), sampling, redaction, the write — happens off the request path.
 * A request the policy does not select costs one cache lookup.
 *
 * Who reads bodies: members and above; viewers only when the tenant allows it
 * (`viewersSeeBodies`) — a separate permission from reading usage.
 */
import { serverKey } from "../../auth/derived-keys";
import { type Db, type Role, db as defaultDb } from "../../db/client";
import { env } from "../../env";
import { AppError, NotFound } from "../../errors";
import { TtlCache } from "../../lib/ttl-cache";
import { processSlot } from "../../runtime/registry";
import { type Actor, recordAudit } from "../audit/audit";
import { hasRole } from "../../auth/roles";
import type { GenerationResult } from "../gateway/types";
import { PatternTimeout } from "./custom-patterns";
import { type CapturedRequest, type StoredDocument, prepareBody, toDocument } from "./document";
import { type CustomPattern, CustomPatternsSchema, LogPolicyInput } from "./schemas";
import { logger } from "../../log/logger";

export interface LogPolicy {
  bodiesEnabled: boolean;
  bodyKeyIds: string[] | null;
  bodySampleRate: number;
  redactPatterns: CustomPattern[];
  bodyRetentionDays: number;
  usageRetentionDays: number | null;
  viewersSeeBodies: boolean;
}

export const DEFAULT_POLICY: LogPolicy = {
  bodiesEnabled: false,
  bodyKeyIds: null,
  bodySampleRate: 1,
  redactPatterns: [],
  bodyRetentionDays: 30,
  usageRetentionDays: null,
  viewersSeeBodies: false,
};

type PolicyRow = {
  bodiesEnabled: boolean;
  bodyKeyIds: string | null;
  bodySampleRate: number;
  redactPatterns: string;
  bodyRetentionDays: number;
  usageRetentionDays: number | null;
  viewersSeeBodies: boolean;
};

function parsePolicy(row: PolicyRow | null): LogPolicy {
  if (!row) return { ...DEFAULT_POLICY };
  const list = (text: string | null): unknown => {
    if (text === null) return null;
    try {
      return JSON.parse(text);
    } catch {
      return [];
    }
  };
  const keys = list(row.bodyKeyIds);
  const patterns = CustomPatternsSchema.safeParse(list(row.redactPatterns));
  return {
    bodiesEnabled: row.bodiesEnabled,
    bodyKeyIds: Array.isArray(keys) ? keys.filter((k): k is string => typeof k === "string") : null,
    bodySampleRate: row.bodySampleRate,
    // a stored pattern that no longer validates: capture nothing rather than store unredacted text
    redactPatterns: patterns.success ? patterns.data : [{ name: "invalid", pattern: "[\\s\\S]+" }],
    bodyRetentionDays: row.bodyRetentionDays,
    usageRetentionDays: row.usageRetentionDays,
    viewersSeeBodies: row.viewersSeeBodies,
  };
}

/** tenantId → policy, for a second: settings changes apply within a second on every replica. */
const policies = processSlot("requestBodies.policies", () => new TtlCache<string, LogPolicy>({ maxEntries: 10_000, ttlMs: 1000 })).get();

export async function getLogPolicy(db: Db, tenantId: string): Promise<LogPolicy> {
  const row = await db.logPolicy.findUnique({ where: { tenantId } });
  return parsePolicy(row);
}

async function cachedPolicy(db: Db, tenantId: string): Promise<LogPolicy> {
  const hit = policies.get(tenantId);
  if (hit) return hit;
  const p = await getLogPolicy(db, tenantId);
  policies.set(tenantId, p);
  return p;
}

export async function updateLogPolicy(db: Db, actor: Actor, input: LogPolicyInput): Promise<LogPolicy> {
  const v = LogPolicyInput.parse(input);
  if (v.bodyKeyIds?.length) {
    const found = await db.apiKey.count({ where: { tenantId: v.tenantId, id: { in: v.bodyKeyIds } } });
    if (found !== new Set(v.bodyKeyIds).size) throw NotFound("API key");
  }
  const data = {
    bodiesEnabled: v.bodiesEnabled,
    bodyKeyIds: v.bodyKeyIds === null ? null : JSON.stringify([...new Set(v.bodyKeyIds)]),
    bodySampleRate: v.bodySampleRate,
    redactPatterns: JSON.stringify(v.redactPatterns),
    bodyRetentionDays: v.bodyRetentionDays,
    usageRetentionDays: v.usageRetentionDays,
    viewersSeeBodies: v.viewersSeeBodies,
  };
  const row = await db.$transaction(async (tx) => {
    const saved = await tx.logPolicy.upsert({ where: { tenantId: v.tenantId }, create: { tenantId: v.tenantId, ...data }, update: data });
    await recordAudit(tx, actor, {
      tenantId: v.tenantId,
      action: "tenant.log_policy",
      targetType: "tenant",
      targetId: v.tenantId,
      // the patterns are the tenant's own configuration, not secrets; their names say enough
      data: { ...data, redactPatterns: v.redactPatterns.map((p) => p.name) },
    });
    return saved;
  });
  policies.delete(v.tenantId);
  return parsePolicy(row);
}

/** Whether this request's body is stored: enabled, the key selected, and the sample drawn. */
export function selects(policy: LogPolicy, apiKeyId: string | null, random: () => number = Math.random): boolean {
  if (!policy.bodiesEnabled || policy.bodySampleRate <= 0) return false;
  if (policy.bodyKeyIds && (!apiKeyId || !policy.bodyKeyIds.includes(apiKeyId))) return false;
  return policy.bodySampleRate >= 1 || random() < policy.bodySampleRate;
}

// ---- capture --------------------------------------------------------------------------------

/** What the core saw of one request, handed over when it ends. */
export interface Exchange {
  request: CapturedRequest;
  /** the answer assembled so far (a cancelled stream: what streamed); null when none */
  answer: () => GenerationResult | null;
}

// Process slots (server/runtime/registry.ts): the shutdown hook, in the instrumentation
// bundle, must wait for the writes the /v1 route bundles started.
const pending = processSlot("requestBodies.pending", () => new Set<Promise<void>>()).get();
const stats = processSlot("requestBodies.stats", () => ({ stored: 0, skipped: 0, failed: 0, timedOut: 0 })).get();

export function bodyLogStats() {
  return { ...stats, pending: pending.size };
}

/**
 * Called by the pipeline when a request ends (its usage row already recorded). Never
 * throws and never waits: the work runs in the background (see `flushBodyWrites`).
 * Resolves to the stored (redacted) document, or null when nothing was stored — the
 * request span puts content on a trace only then.
 */
export function captureExchange(input: {
  db?: Db;
  rowId: string;
  tenantId: string;
  apiKeyId: string | null;
  endpoint: string;
  createdAt: Date;
  exchange: Exchange | undefined;
  error: { code: string; message: string } | null;
}): Promise<string | null> | null {
  if (!input.exchange) return null;
  // the answer is read now: a later attempt or a cache write must not change what is stored
  let answer: GenerationResult | null;
  try {
    answer = input.exchange.answer();
  } catch {
    answer = null;
  }
  const doc = toDocument(input.endpoint, input.exchange.request, answer, input.error);
  const job = store(input.db ?? defaultDb(), input, doc).catch((e: unknown) => {
    stats.failed++;
    logger("request-bodies").warn(`could not store the body of ${input.rowId}: ${(e as Error).message}`);
    return null;
  });
  const tracked = job.then(() => {});
  pending.add(tracked);
  void tracked.finally(() => pending.delete(tracked));
  return job;
}

async function store(
  db: Db,
  input: { rowId: string; tenantId: string; apiKeyId: string | null; createdAt: Date },
  doc: StoredDocument,
): Promise<string | null> {
  const policy = await cachedPolicy(db, input.tenantId);
  if (!selects(policy, input.apiKeyId)) {
    stats.skipped++;
    return null;
  }
  let prepared;
  try {
    prepared = await prepareBody(doc, { hashKey: serverKey("redaction"), patterns: policy.redactPatterns, maxBytes: env().BODY_LOG_MAX_BYTES });
  } catch (e) {
    if (e instanceof PatternTimeout) {
      stats.timedOut++;
      logger("request-bodies").warn(`not stored (${input.rowId}): ${e.message}`);
      return null;
    }
    throw e;
  }
  await db.requestBody.create({
    data: { id: input.rowId, tenantId: input.tenantId, createdAt: input.createdAt, ...prepared },
  });
  stats.stored++;
  return prepared.body;
}

/** Waits for the body writes in flight (tests, shutdown). */
export async function flushBodyWrites(): Promise<void> {
  while (pending.size) await Promise.all([...pending]);
}

export function resetBodyLogState(): void {
  policies.clear();
  Object.assign(stats, { stored: 0, skipped: 0, failed: 0, timedOut: 0 });
}

// ---- reading ---------------------------------------------------------------------------------

export async function canReadBodies(db: Db, tenantId: string, role: Role): Promise<boolean> {
  if (hasRole(role, "member")) return true;
  return (await getLogPolicy(db, tenantId)).viewersSeeBodies;
}

/** The stored body of usage row `id`, or null when none was stored. Viewers need the tenant's permission. */
export async function getRequestBody(db: Db, tenantId: string, role: Role, id: string) {
  if (!(await canReadBodies(db, tenantId, role))) {
    throw new AppError("forbidden", "Reading request bodies needs the member role or higher in this tenant (viewers only if the tenant allows it)", {
      code: "bodies_forbidden",
    });
  }
  // a request of another tenant does not exist here; one of this tenant without a stored body is null
  const [log, row] = await Promise.all([
    db.requestLog.findFirst({ where: { tenantId, id }, select: { id: true } }),
    db.requestBody.findFirst({ where: { tenantId, id } }),
  ]);
  if (!log && !row) throw NotFound("Request");
  if (!row) return null;
  return {
    id: row.id,
    createdAt: row.createdAt,
    bytes: row.bytes,
    truncated: row.truncated,
    redactions: row.redactions,
    document: JSON.parse(row.body) as StoredDocument,
  };
}

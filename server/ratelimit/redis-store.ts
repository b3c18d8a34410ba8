/**
 * The Redis limiter backend (REDIS_URL): every replica sees one state, and each
 * admit/settle is ONE Lua script — atomic on the server, one round trip — with the
 * semantics of store.ts. Time comes from Redis (`TIME`), not from the replicas, so
 * replicas with skewed clocks still agree on which bucket "now" is.
 *
 * Keys carry the tenant id as a hash tag (`sy:{tnt_…}:…`): one request's keys then
 * live in one cluster slot, which a multi-key script needs.
 *
 * Unreachable Redis: commands are not queued while disconnected (a queued admission
 * replayed minutes later would charge a request that was long answered); they fail
 * at once, or after RATE_LIMIT_REDIS_TIMEOUT_MS, and the limiter applies the fail mode.
 */
import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import { type AdmitOutcome, type Check, type CheckResult, type LimiterStore, type SettleOp, WINDOW_SECONDS } from "./store";

const COMMON = `
local W = ${WINDOW_SECONDS}
local t = redis.call('TIME')
local nowSec = tonumber(t[1])
local nowMs = nowSec * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

// KEYS[i] belongs to checks[i]. ARGV[1] = JSON {id, ttl, c: [{t:"w"|"l"|"b", limit, cost}]}.
// Returns JSON {seed: i} | {failed: i|0, bucket, r: [[used, ok, retryMs, resetMs], …]}.
const ADMIT = `${COMMON}
local req = cjson.decode(ARGV[1])
local res = {}
local failed = 0
for i, c in ipairs(req.c) do
  local key = KEYS[i]
  local r
  if c.t == 'w' then
    local h = redis.call('HGETALL', key)
    local sum = 0
    local buckets = {}
    local stale = {}
    for j = 1, #h, 2 do
      local b = tonumber(h[j])
      local v = tonumber(h[j + 1])
      if b <= nowSec - W then stale[#stale + 1] = h[j] else
        sum = sum + v
        buckets[#buckets + 1] = {b, v}
      end
    end
    if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end
    table.sort(buckets, function(a, b) return a[1] < b[1] end)
    local function expiry(s) return math.max(0, (s + W) * 1000 - nowMs) end
    local reset = 0
    if #buckets > 0 then reset = expiry(buckets[#buckets][1]) end
    local retry = 0
    local need = sum + c.cost - c.limit
    if need > 0 then
      retry = reset
      local freed = 0
      for _, bv in ipairs(buckets) do
        freed = freed + bv[2]
        if freed >= need then retry = expiry(bv[1]) break end
      end
    end
    r = {sum, need <= 0 and 1 or 0, retry, reset}
  elseif c.t == 'l' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', nowMs)
    local n = redis.call('ZCARD', key)
    r = {n, n + 1 <= c.limit and 1 or 0, 1000, 0}
  else
    local v = redis.call('GET', key)
    if not v then return cjson.encode({seed = i}) end
    local used = tonumber(v)
    r = {used, used < c.limit and 1 or 0, 0, 0}
  end
  res[i] = r
  if r[2] == 0 and failed == 0 then failed = i end
end
if failed == 0 then
  for i, c in ipairs(req.c) do
    local key = KEYS[i]
    if c.t == 'w' then
      if c.cost > 0 then
        redis.call('HINCRBY', key, nowSec, c.cost)
        redis.call('PEXPIRE', key, (W + 1) * 1000)
      end
    elseif c.t == 'l' then
      redis.call('ZADD', key, nowMs + req.ttl, req.id)
      -- only ever push the set's expiry out: a short lease must not take longer ones with it
      local keep = redis.call('PTTL', key)
      if keep == -1 or keep < req.ttl * 2 then redis.call('PEXPIRE', key, req.ttl * 2) end
    else
      redis.call('INCRBY', key, c.cost)
    end
  end
end
return cjson.encode({failed = failed, bucket = nowSec, r = res})
`;

// KEYS[i] belongs to ops[i]. ARGV[1] = JSON {id, o: [{t, bucket, reserved, actual, delta}]}.
const SETTLE = `${COMMON}
local req = cjson.decode(ARGV[1])
for i, o in ipairs(req.o) do
  local key = KEYS[i]
  if o.t == 'w' then
    if o.reserved ~= 0 and o.bucket > nowSec - W and redis.call('HEXISTS', key, o.bucket) == 1 then
      local v = redis.call('HINCRBY', key, o.bucket, -o.reserved)
      if v <= 0 then redis.call('HDEL', key, o.bucket) end
    end
    if o.actual > 0 then
      redis.call('HINCRBY', key, nowSec, o.actual)
      redis.call('PEXPIRE', key, (W + 1) * 1000)
    end
  elseif o.t == 'l' then
    redis.call('ZREM', key, req.id)
  else
    if redis.call('EXISTS', key) == 1 then redis.call('INCRBY', key, o.delta) end
  end
end
return 1
`;

// KEYS = lease keys, ARGV[1] = JSON {ttl, ids: [...]}: pushes the expiry of leases that still exist.
const RENEW = `${COMMON}
local req = cjson.decode(ARGV[1])
for i, id in ipairs(req.ids) do
  redis.call('ZADD', KEYS[i], 'XX', nowMs + req.ttl, id)
  local keep = redis.call('PTTL', KEYS[i])
  if keep == -1 or keep < req.ttl * 2 then redis.call('PEXPIRE', KEYS[i], req.ttl * 2) end
end
return 1
`;

const WINDOW_SUM = `${COMMON}
local h = redis.call('HGETALL', KEYS[1])
local sum = 0
for j = 1, #h, 2 do if tonumber(h[j]) > nowSec - W then sum = sum + tonumber(h[j + 1]) end end
return sum
`;

class Script {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash("sha1").update(source).digest("hex");
  }
}
const scripts = { admit: new Script(ADMIT), settle: new Script(SETTLE), renew: new Script(RENEW), windowSum: new Script(WINDOW_SUM) };

export class RedisUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RedisUnavailable";
  }
}

export interface RedisStoreOptions {
  url: string;
  /** per-command timeout */
  timeoutMs: number;
  /** how long the very first connection may take before calls fail */
  connectTimeoutMs?: number;
  onConnectionChange?: (up: boolean, error?: string) => void;
}

export class RedisStore implements LimiterStore {
  readonly backend = "redis" as const;
  readonly renewsLeases = true;
  private readonly client: Redis;
  /** set once the first connection attempt has succeeded or failed */
  private settledOnce = false;
  private readonly firstReady: Promise<void>;

  constructor(private readonly opts: RedisStoreOptions) {
    this.client = new Redis(opts.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: opts.timeoutMs,
      connectTimeout: opts.connectTimeoutMs ?? 2000,
      // keep trying, quickly at first: limits come back as soon as Redis does
      retryStrategy: (times) => Math.min(100 * times, 1000),
    });
    this.client.on("ready", () => {
      this.settledOnce = true;
      opts.onConnectionChange?.(true);
    });
    this.client.on("error", (e: Error) => {
      this.settledOnce = true;
      opts.onConnectionChange?.(false, e.message);
    });
    this.client.on("end", () => opts.onConnectionChange?.(false, "connection closed"));
    this.firstReady = new Promise<void>((resolve) => this.client.once("ready", () => resolve()));
    this.client.connect().catch(() => {
      /* reported through "error"; retryStrategy keeps reconnecting */
    });
  }

  private async run(script: Script, keys: string[], args: string[]): Promise<unknown> {
    await this.ensureUsable();
    try {
      try {
        return await this.client.evalsha(script.sha, keys.length, ...keys, ...args);
      } catch (e) {
        if (!/NOSCRIPT/.test((e as Error).message)) throw e;
        return await this.client.eval(script.source, keys.length, ...keys, ...args);
      }
    } catch (e) {
      // Script errors are bugs and must surface as such; everything else is "Redis is not there".
      if (/ERR .*script|user_script/i.test((e as Error).message)) throw e;
      throw new RedisUnavailable(`Redis call failed: ${(e as Error).message}`, { cause: e });
    }
  }

  async admit(id: string, checks: Check[], leaseTtlMs: number): Promise<AdmitOutcome> {
    const payload = {
      id,
      ttl: leaseTtlMs,
      c: checks.map((c) => ({ t: c.type[0], limit: c.limit, cost: "cost" in c ? c.cost : 0 })),
    };
    const raw = (await this.run(scripts.admit, checks.map((c) => c.key), [JSON.stringify(payload)])) as string;
    const out = JSON.parse(raw) as { seed?: number; failed?: number; bucket?: number; r?: [number, number, number, number][] };
    if (out.seed !== undefined) return { kind: "seed", index: out.seed - 1 };
    // cjson encodes an empty Lua table as {} — no checks is never sent, but be safe
    const rows = Array.isArray(out.r) ? out.r : [];
    const results: CheckResult[] = rows.map(([used, ok, retryMs, resetMs]) => ({ used, ok: ok === 1, retryMs, resetMs }));
    return { kind: "done", admitted: out.failed === 0, failed: (out.failed ?? 0) - 1, bucket: out.bucket!, results };
  }

  async settle(id: string, ops: SettleOp[]): Promise<void> {
    if (ops.length === 0) return;
    const payload = {
      id,
      o: ops.map((o) =>
        o.type === "window"
          ? { t: "w", bucket: o.bucket, reserved: o.reserved, actual: o.actual }
          : o.type === "lease"
            ? { t: "l" }
            : { t: "b", delta: o.delta },
      ),
    };
    await this.run(scripts.settle, ops.map((o) => o.key), [JSON.stringify(payload)]);
  }

  async seedBudget(key: string, used: number, ttlMs: number): Promise<void> {
    await this.ensureUsable();
    try {
      await this.client.set(key, String(used), "PX", ttlMs, "NX");
    } catch (e) {
      throw new RedisUnavailable(`Redis call failed: ${(e as Error).message}`, { cause: e });
    }
  }

  async renewLeases(leases: { key: string; id: string }[], ttlMs: number): Promise<void> {
    if (leases.length === 0) return;
    await this.run(scripts.renew, leases.map((l) => l.key), [JSON.stringify({ ttl: ttlMs, ids: leases.map((l) => l.id) })]);
  }

  async windowUsage(key: string): Promise<number> {
    return Number(await this.run(scripts.windowSum, [key], []));
  }

  async budgetUsage(key: string): Promise<number | null> {
    await this.ensureUsable();
    const v = await this.client.get(key);
    return v === null ? null : Number(v);
  }

  async ping(): Promise<boolean> {
    try {
      await this.ensureUsable();
      return (await this.client.ping()) === "PONG";
    } catch {
      return false;
    }
  }

  private async ensureUsable(): Promise<void> {
    if (this.client.status === "ready") return;
    // While the first connection is being made, wait for it; otherwise fail at once (the fail mode applies).
    if (this.settledOnce) throw new RedisUnavailable(`Redis is not connected (${this.client.status})`);
    await Promise.race([
      this.firstReady,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new RedisUnavailable("Redis did not connect in time")), this.opts.connectTimeoutMs ?? 2000).unref(),
      ),
    ]);
  }

  async close(): Promise<void> {
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}

/**
 * The usage log's buffered batch writer: every /api/v1 request ends with
 * `usageWriter().record(r)` (synchronous, never throws, never waits for the
 * database), and a background loop writes the buffer in batches — each batch in
 * ONE transaction with its RequestLog rows and the UsageRollup increments they
 * add, so rows and rollups always agree.
 *
 * Rows are not lost to a failing database: a failed batch stays at the head of the
 * buffer and is retried with backoff. Two things can still take a record out of
 * the buffer without writing it, both counted in stats() and logged loudly:
 *  - the buffer outgrowing `maxBuffered` (an outage longer than the buffer): the
 *    oldest records are dropped, so memory stays bounded;
 *  - a single record the database refuses again and again while it accepts an
 *    ordinary row (a bad row, not an outage — see canWrite()): the batch is split in
 *    halves until the record is alone, then it is logged as JSON and set aside, so
 *    one bad row can't block every later one until the buffer overflows.
 *
 * Idempotent retries: a batch is one transaction, so it is committed or not. The
 * one ambiguous case — COMMIT succeeded but the client saw an error (a dropped
 * PostgreSQL connection) — is safe too: rows are inserted with
 * `ON CONFLICT ("id") DO NOTHING RETURNING "id"` and only the rows actually inserted
 * are added to the rollups, so a retried batch neither duplicates rows nor counts
 * them twice. (Prisma's createMany `skipDuplicates` would not do: SQLite doesn't
 * support it, it can't say which rows it skipped — and see sql.ts for speed.)
 */
import { type Db, type Tx, db } from "../../db/client";
import { env } from "../../env";
import { newId } from "../../lib/ids";
import { metrics, registerCollector } from "../../metrics/metrics";
import { processSlot } from "../../runtime/registry";
import { type RequestLogRow, aggregateRollups, toRow } from "./aggregate";
import { type Provider, insertLogsStatement, upsertRollupsStatement } from "./sql";
import type { UsageRecord, UsageWriterStats } from "./types";
import { logger } from "../../log/logger";

export interface UsageLogger {
  error(message: string): void;
  warn(message: string): void;
}

export interface UsageWriterOptions {
  db: Db;
  /** which SQL dialect `db` speaks; read from the client when not given */
  provider?: Provider;
  /** how long a record may wait for company before its batch is written */
  flushIntervalMs?: number;
  /** rows per transaction; a full batch is written at once, without waiting for the interval */
  maxBatch?: number;
  /** records kept in memory at most (an outage); beyond it the oldest are dropped */
  maxBuffered?: number;
  /** first retry delay after a failed write; doubles per consecutive failure up to retryMaxMs */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /**
   * failures of one record written alone, each while an ordinary row could be written,
   * before it is set aside (backing off exponentially in between)
   */
  rejectAfter?: number;
  logger?: UsageLogger;
}

interface Entry {
  /** order of record() calls; flush() writes everything up to the seq it saw */
  seq: number;
  row: RequestLogRow;
}

/** A FIFO with O(1) push and amortised O(1) shift (Array#shift is O(n)). */
class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    this.compact();
    return item;
  }

  take(n: number): T[] {
    const out = this.items.slice(this.head, this.head + n) as T[];
    for (let i = 0; i < out.length; i++) this.items[this.head + i] = undefined;
    this.head += out.length;
    this.compact();
    return out;
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

/** Long enough for a 500-row batch on a busy database, short enough to notice a stuck one. */
const TX_OPTIONS = { maxWait: 10_000, timeout: 30_000 } as const;
/** Consecutive failures of the same slice, while an ordinary row can be written, before it is halved. */
const SPLIT_AFTER = 2;
const DROP_LOG_EVERY_MS = 5_000;

const consoleLogger: UsageLogger = {
  error: (m) => logger("usage").error(m),
  warn: (m) => logger("usage").warn(m),
};

function message(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n").filter(Boolean).slice(0, 3).join(" | ").slice(0, 500);
}

export class UsageWriter {
  private readonly db: Db;
  private readonly provider: Provider;
  private readonly flushIntervalMs: number;
  private readonly maxBatch: number;
  private readonly maxBuffered: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly rejectAfter: number;
  private readonly log: UsageLogger;

  private readonly queue = new Fifo<Entry>();
  /** Ids in the buffer, to skip a record recorded twice. */
  private readonly ids = new Set<string>();
  /** The batch taken from the queue and not yet committed (being written, or waiting to be retried). */
  private pending: Entry[] | null = null;
  /** How many of `pending` the next attempt writes (shrinks while isolating a bad row). */
  private writeSize = 0;
  private writing = false;
  private seq = 0;

  /** Serialises writes: background loop and flush() callers take turns, one batch at a time. */
  private lock: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private draining = false;
  private closed = false;

  private consecutiveFailures = 0;
  private failuresOfSlice = 0;
  private retryUntil = 0;

  private written = 0;
  private dropped = 0;
  private rejected = 0;
  private duplicates = 0;
  private failedFlushes = 0;
  private lastError: string | null = null;
  private lastDropLog = 0;
  private droppedSinceLog = 0;

  constructor(opts: UsageWriterOptions) {
    this.db = opts.db;
    this.provider = opts.provider ?? providerOfClient(opts.db);
    this.flushIntervalMs = opts.flushIntervalMs ?? 250;
    this.maxBatch = Math.max(1, opts.maxBatch ?? 500);
    this.maxBuffered = Math.max(this.maxBatch, opts.maxBuffered ?? 100_000);
    this.retryBaseMs = opts.retryBaseMs ?? 200;
    this.retryMaxMs = opts.retryMaxMs ?? 30_000;
    this.rejectAfter = Math.max(SPLIT_AFTER, opts.rejectAfter ?? 5);
    this.log = opts.logger ?? consoleLogger;
  }

  /** Buffers one request's row. O(1); never throws, never waits for the database. */
  record(r: UsageRecord): void {
    try {
      const row = toRow(r);
      if (this.ids.has(row.id)) {
        this.duplicates++;
        this.log.warn(`request ${row.id} was recorded twice; keeping the first record`);
        return;
      }
      this.ids.add(row.id);
      this.queue.push({ seq: ++this.seq, row });
      if (this.size() > this.maxBuffered) this.dropOldest();
      this.schedule();
    } catch (e) {
      // nothing in here should throw; if it does, the request must not fail because of its log row
      this.log.error(`record() failed: ${message(e)}`);
    }
  }

  /**
   * Writes every record buffered when it was called (records arriving meanwhile may
   * or may not be included). Waits for a write in progress first and retries with
   * backoff while the database fails, so it resolves only once those rows are
   * committed (or were dropped/set aside, see the header) — bound it with a timeout
   * where waiting forever is not an option (the shutdown hook does). Safe to call
   * concurrently.
   */
  async flush(): Promise<void> {
    const target = this.seq;
    while (this.oldestSeq() <= target) {
      const wait = this.retryUntil - Date.now();
      if (wait > 0) await new Promise((res) => setTimeout(res, wait));
      await this.step();
    }
  }

  /** Stops the interval timer and flushes. Records arriving later are still written, one batch at a time. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
  }

  stats(): UsageWriterStats {
    return {
      buffered: this.size(),
      written: this.written,
      dropped: this.dropped,
      rejected: this.rejected,
      duplicates: this.duplicates,
      failedFlushes: this.failedFlushes,
      lastError: this.lastError,
    };
  }

  private size(): number {
    return this.queue.size + (this.pending?.length ?? 0);
  }

  private oldestSeq(): number {
    return this.pending?.[0]?.seq ?? this.queue.peek()?.seq ?? Number.POSITIVE_INFINITY;
  }

  /** Arms the next background write: at once when a full batch waits, else after flushIntervalMs. */
  private schedule(): void {
    if (this.draining || this.immediate) return;
    const backoff = this.retryUntil - Date.now();
    if (backoff > 0) {
      this.armTimer(backoff);
    } else if (this.queue.size >= this.maxBatch || this.closed) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.immediate = setImmediate(() => {
        this.immediate = null;
        this.startDrain();
      });
    } else {
      this.armTimer(this.flushIntervalMs);
    }
  }

  private armTimer(delay: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.startDrain();
    }, delay);
    // an idle process may exit with rows buffered: installShutdownHooks() flushes on beforeExit and signals
    this.timer.unref();
  }

  private startDrain(): void {
    if (this.draining) return;
    this.draining = true;
    void this.drain()
      .catch((e: unknown) => this.log.error(`background flush crashed: ${message(e)}`))
      .finally(() => {
        this.draining = false;
        if (this.size() > 0) this.schedule();
      });
  }

  /** Background loop: writes while a retry is due or a full batch waits; a partial batch waits for the interval. */
  private async drain(): Promise<void> {
    for (;;) {
      if (this.retryUntil > Date.now()) return;
      if (!this.pending && this.queue.size === 0) return;
      const ok = await this.step();
      if (!ok) return;
      if (!this.pending && this.queue.size < this.maxBatch && !(this.closed && this.queue.size > 0)) return;
    }
  }

  /** One write attempt of (part of) the head batch, under the lock. Resolves false when it failed. */
  private step(): Promise<boolean> {
    const run = this.lock.then(() => this.attempt());
    this.lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async attempt(): Promise<boolean> {
    if (!this.pending) {
      if (this.queue.size === 0) return true;
      this.pending = this.queue.take(this.maxBatch);
      this.writeSize = this.pending.length;
      this.failuresOfSlice = 0;
    }
    const slice = this.pending.slice(0, this.writeSize);
    this.writing = true;
    try {
      const { inserted, skipped } = await this.write(slice.map((e) => e.row));
      this.written += inserted;
      this.duplicates += skipped;
      this.settle(slice.length);
      this.consecutiveFailures = 0;
      this.failuresOfSlice = 0;
      this.retryUntil = 0;
      return true;
    } catch (e) {
      this.failedFlushes++;
      this.consecutiveFailures++;
      this.failuresOfSlice++;
      this.lastError = message(e);
      await this.afterFailure(slice, e);
      return false;
    } finally {
      this.writing = false;
    }
  }

  /** Removes the first n entries of `pending` (written, or set aside). */
  private settle(n: number): void {
    const done = this.pending!.splice(0, n);
    for (const e of done) this.ids.delete(e.row.id);
    if (this.pending!.length === 0) this.pending = null;
    else this.writeSize = Math.min(this.writeSize, this.pending!.length);
  }

  private async afterFailure(slice: Entry[], e: unknown): Promise<void> {
    const backoff = () => Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** Math.min(this.failuresOfSlice - 1, 20));
    // a batch that keeps failing while an ordinary row can be written holds a bad row; otherwise it's an outage
    const isolating = this.failuresOfSlice >= SPLIT_AFTER && (await this.canWrite());
    let delay: number;
    if (isolating && slice.length > 1) {
      this.writeSize = Math.ceil(slice.length / 2);
      this.failuresOfSlice = 0;
      delay = this.retryBaseMs;
      this.log.warn(
        `a batch of ${slice.length} keeps failing while the database takes other rows (${this.lastError}); retrying in halves to find the bad row`,
      );
    } else if (isolating && this.failuresOfSlice >= this.rejectAfter) {
      this.rejected++;
      this.log.error(
        `the database refused request log row ${slice[0]!.row.id} ${this.failuresOfSlice} times while accepting others; ` +
          `set aside (not written): ${message(e)} — row: ${JSON.stringify(slice[0]!.row)}`,
      );
      this.settle(1);
      this.failuresOfSlice = 0;
      delay = 0;
    } else {
      // an outage, or a row alone that hasn't failed often enough to be called bad: back off exponentially
      delay = backoff();
      this.log.error(
        `writing ${slice.length} request log rows failed (attempt ${this.consecutiveFailures}); keeping them and retrying in ${delay} ms: ${this.lastError}`,
      );
    }
    this.retryUntil = Date.now() + delay;
  }

  /**
   * Whether the database takes an ordinary row right now: writes a made-up row and
   * its rollup the way a batch would, then rolls the transaction back. A read probe
   * would not do — a locked SQLite file or a PostgreSQL lock timeout answers reads
   * and refuses writes, and that is an outage to wait out, not a bad row.
   */
  private async canWrite(): Promise<boolean> {
    const rollback = new Error("usage writer probe: roll back");
    try {
      await this.db.$transaction(async (tx) => {
        await insert(tx, this.provider, [probeRow()]);
        throw rollback;
      }, TX_OPTIONS);
      return false;
    } catch (e) {
      return e === rollback;
    }
  }

  /** One transaction: the rows not yet in RequestLog, and their rollup increments. */
  private write(rows: RequestLogRow[]): Promise<{ inserted: number; skipped: number }> {
    return this.db.$transaction(async (tx) => {
      const inserted = await insert(tx, this.provider, rows);
      return { inserted, skipped: rows.length - inserted };
    }, TX_OPTIONS);
  }

  private dropOldest(): void {
    let victim: Entry | undefined;
    if (this.pending && !this.writing) {
      victim = this.pending.shift();
      if (this.pending.length === 0) this.pending = null;
      else this.writeSize = Math.min(this.writeSize, this.pending.length);
    } else {
      victim = this.queue.shift();
    }
    if (!victim) return;
    this.ids.delete(victim.row.id);
    this.dropped++;
    this.droppedSinceLog++;
    const now = Date.now();
    if (now - this.lastDropLog >= DROP_LOG_EVERY_MS) {
      this.log.error(
        `USAGE ROWS LOST: the buffer is full (${this.maxBuffered} records) because writes keep failing ` +
          `(${this.lastError ?? "no error yet"}); dropped the ${this.droppedSinceLog} oldest since the last report, ${this.dropped} in all`,
      );
      this.lastDropLog = now;
      this.droppedSinceLog = 0;
    }
  }
}

/**
 * Inserts the rows whose id isn't in RequestLog yet and adds those to their rollup
 * buckets, inside the caller's transaction. Returns how many rows were inserted.
 */
async function insert(tx: Tx, provider: Provider, rows: RequestLogRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const inserted = await tx.$queryRawUnsafe<{ id: string }[]>(...insertLogsStatement(provider, rows));
  if (inserted.length === 0) return 0;
  const ids = new Set(inserted.map((r) => r.id));
  const fresh = inserted.length === rows.length ? rows : rows.filter((r) => ids.has(r.id));
  const groups = aggregateRollups(fresh).map((g) => ({ ...g, id: newId("rol") }));
  // The rollups are derived data; the rows are the record. A rollup write the database refuses
  // (a bad bucket, a broken trigger, an overflow) is rolled back to this savepoint alone, so it
  // never takes the batch's rows with it — it is logged and counted instead.
  await tx.$executeRawUnsafe("SAVEPOINT usage_rollups");
  try {
    await tx.$executeRawUnsafe(...upsertRollupsStatement(provider, groups, new Date()));
    await tx.$executeRawUnsafe("RELEASE SAVEPOINT usage_rollups");
  } catch (e) {
    await tx.$executeRawUnsafe("ROLLBACK TO SAVEPOINT usage_rollups");
    await tx.$executeRawUnsafe("RELEASE SAVEPOINT usage_rollups");
    onRollupFailure(fresh.length, e);
  }
  return inserted.length;
}

function onRollupFailure(rows: number, e: unknown): void {
  try {
    metrics().usageRollupFailures.inc();
  } catch {
    // metrics must not turn a kept row into a lost one
  }
  consoleLogger.error(`the rollups of ${rows} request log rows could not be written (the rows were): ${message(e)}`);
}

function providerOfClient(client: Db): Provider {
  // the generated client records its provider; both of ours are generated from one schema
  const p = (client as unknown as { _activeProvider?: string })._activeProvider;
  if (p === "sqlite" || p === "postgresql") return p;
  throw new Error(`UsageWriter: cannot tell the database provider of this client (${String(p)}); pass { provider }`);
}

/** An ordinary row for canWrite(); always rolled back. */
function probeRow(): RequestLogRow {
  const id = newId("req");
  return toRow({
    id,
    tenantId: "usage-writer-probe",
    apiKeyId: null,
    userId: null,
    endpoint: "probe",
    modelRequested: "probe",
    modelUsed: null,
    backendId: null,
    status: "ok",
    httpStatus: 200,
    errorCode: null,
    errorMessage: null,
    stream: false,
    promptTokens: 1,
    completionTokens: 1,
    ttftMs: 1,
    latencyMs: 1,
    createdAt: new Date(),
  });
}

type ProcessWriterOptions = Omit<UsageWriterOptions, "db">;

// Process slots (server/runtime/registry.ts): Next's dev reloads and separately bundled
// route modules share one writer per process, and the shutdown flush reaches it.
const writerOptions = processSlot<ProcessWriterOptions | undefined>("usage.writerOptions", () => undefined);
const writer = processSlot("usage.writer", () => {
  const w = new UsageWriter({ db: db(), provider: env().DB_PROVIDER, ...writerOptions.peek() });
  // backlog and cumulative counts are read from the writer when /metrics is scraped
  registerCollector("usageWriter", () => w.stats());
  return w;
});

/** Options for the process-wide writer; call before its first use (start-up, or a test's child process). */
export function configureUsageWriter(opts: ProcessWriterOptions): void {
  if (writer.peek()) throw new Error("configureUsageWriter: the usage writer already exists");
  writerOptions.set(opts);
}

/** The process-wide writer, created on first use over `db()`. */
export function usageWriter(): UsageWriter {
  return writer.get();
}

/** The process-wide writer if anything has used it (shutdown needn't open a database just to flush nothing). */
export function existingUsageWriter(): UsageWriter | undefined {
  return writer.peek();
}

/**
 * The integration run's leak check: after every test file has run (globalSetup's
 * teardown), the run's database — every row of every table — and everything the
 * test processes wrote to the console or stdout/stderr are scanned for key material
 * in plain text: API keys (sk-sy-…), signing secrets (sy-sig-…), and the plaintext
 * of every sealed backend credential and signing secret found in the database
 * (opened with the run's AUTH_SECRET). Sealed columns must hold sealed values.
 * One pass over text already on disk or in the database: a second or so per run.
 *
 * Workers (server/test/setup-env.ts) and replicas they spawn (v1-server-child.ts)
 * append their output to files in SWITCHYARD_TEST_LOG_DIR via captureOutput().
 */
import { appendFileSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { KEY_INFO, deriveKey } from "../auth/derived-keys";
import { SIGNING_SECRET_PATTERN } from "../auth/request-signing";
import { openWith, signingSecretAad } from "../auth/secret-box";
import { processSlot } from "../runtime/registry";
import { API_KEY_PREFIX, KEY_BODY_LENGTH } from "../auth/key-format";

export const TEST_AUTH_SECRET = "integration-test-secret-0123456789abcdef";
export const LOG_DIR_ENV = "SWITCHYARD_TEST_LOG_DIR";

// ---- capture (in test processes) -------------------------------------------------------

/** Once per process: a second tee would write every line twice. */
const capturing = processSlot("test.capture", () => false);

/** Tees console.* and process.stdout/stderr of this process into a file in `dir`. */
export function captureOutput(dir: string): void {
  if (capturing.get()) return;
  capturing.set(true);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${process.pid}-${Math.random().toString(36).slice(2)}.log`);
  const write = (text: string) => {
    try {
      appendFileSync(file, text.endsWith("\n") ? text : `${text}\n`);
    } catch {
      /* a full disk must not fail the test that logged */
    }
  };
  const show = (a: unknown) => (typeof a === "string" ? a : a instanceof Error ? `${a.stack ?? a.message}` : safeJson(a));
  for (const m of ["log", "info", "warn", "error", "debug"] as const) {
    const original = console[m].bind(console);
    console[m] = (...args: unknown[]) => {
      write(args.map(show).join(" "));
      original(...args);
    };
  }
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream) as (...a: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      write(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
      return original(chunk, ...rest);
    }) as typeof stream.write;
  }
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? x.toString() : x)) ?? String(v);
  } catch {
    return String(v);
  }
}

// ---- scan (pure) -----------------------------------------------------------------------

export interface Finding {
  where: string;
  what: string;
}

const API_KEY_PATTERN = new RegExp(`${API_KEY_PREFIX}[0-9A-Za-z]{${KEY_BODY_LENGTH}}`);
const SEALED = /^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Finds key material in `sources` (name → text). `secrets` are known plaintexts (opened from the database). */
export function scanTexts(sources: Iterable<[string, string]>, secrets: string[]): Finding[] {
  const known = [...new Set(secrets.filter((s) => s.length >= 8))];
  const out: Finding[] = [];
  for (const [where, text] of sources) {
    if (API_KEY_PATTERN.test(text)) out.push({ where, what: "an API key (sk-sy-…)" });
    if (SIGNING_SECRET_PATTERN.test(text)) out.push({ where, what: "a signing secret (sy-sig-…)" });
    for (const s of known) if (text.includes(s)) out.push({ where, what: `a sealed secret's plaintext (${s.slice(0, 3)}…)` });
  }
  return out;
}

// ---- the run's database and logs ---------------------------------------------------------

type Row = Record<string, unknown>;

async function dumpDatabase(url: string): Promise<Map<string, Row[]>> {
  const tables = new Map<string, Row[]>();
  if (url.startsWith("file:")) {
    const { default: Database } = await import("better-sqlite3");
    const { sqlitePathFromUrl } = await import("../db/url");
    const db = new Database(sqlitePathFromUrl(url), { readonly: true });
    try {
      const names = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[];
      for (const { name } of names) tables.set(name, db.prepare(`SELECT * FROM "${name}"`).all() as Row[]);
    } finally {
      db.close();
    }
    return tables;
  }
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const names = (await client.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")).rows as {
      table_name: string;
    }[];
    for (const { table_name } of names) tables.set(table_name, (await client.query(`SELECT * FROM "${table_name}"`)).rows as Row[]);
  } finally {
    await client.end();
  }
  return tables;
}

/** Every line captureOutput() wrote into `logDir`, named by file and line. */
export function capturedOutput(logDir: string): [string, string][] {
  let files: string[] = [];
  try {
    files = readdirSync(logDir);
  } catch {
    return []; // nothing captured
  }
  const out: [string, string][] = [];
  for (const f of files) {
    const lines = readFileSync(path.join(logDir, f), "utf8").split("\n");
    lines.forEach((line, i) => out.push([`output ${f}:${i + 1}`, line]));
  }
  return out;
}

/** Scans the run's database and captured output; returns what it found (empty = clean). */
export async function scanRun(opts: { databaseUrl: string; logDir: string; authSecret: string }): Promise<Finding[]> {
  const tables = await dumpDatabase(opts.databaseUrl);
  const findings: Finding[] = [];
  const secrets: string[] = [];
  const credentialKey = deriveKey(opts.authSecret, KEY_INFO.backendCredential);
  const signingKey = deriveKey(opts.authSecret, KEY_INFO.signingSecret);
  const sealed = (table: string, row: Row, column: string, open: (v: string) => string | null) => {
    const v = row[column];
    if (typeof v !== "string") return;
    if (!SEALED.test(v)) findings.push({ where: `${table}.${column} (${String(row.id)})`, what: "a value that is not sealed" });
    const plain = open(v);
    if (plain) secrets.push(plain);
  };
  for (const row of tables.get("Backend") ?? []) {
    sealed("Backend", row, "credentialEnc", (v) => openWith(credentialKey, v, String(row.id)));
  }
  for (const row of tables.get("ApiKey") ?? []) {
    for (const c of ["signingSecretEnc", "signingPrevEnc"]) sealed("ApiKey", row, c, (v) => openWith(signingKey, v, signingSecretAad(String(row.id))));
  }
  const sources: [string, string][] = [];
  for (const [table, rows] of tables) {
    for (const row of rows) sources.push([`${table} row ${String(row.id ?? row.key ?? "?")}`, safeJson(row)]);
  }
  sources.push(...capturedOutput(opts.logDir));
  findings.push(...scanTexts(sources, secrets));
  return findings;
}

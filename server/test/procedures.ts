/**
 * Every tRPC procedure, described once for the table-driven integration tests
 * (isolation, roles, sessions, audit, bad input). `PROCEDURES` is typed as a
 * Record over every procedure path, so adding a procedure to the router without
 * adding it here fails `tsc` — and server/trpc/procedures.int.test.ts fails too.
 *
 * To add a procedure: give its access rung, a builder for an input that succeeds
 * for an allowed caller, the audit action (mutations), and, if it takes ids of
 * tenant-owned rows, a `crossTenant` builder that points at another tenant's rows.
 */
import { mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { writeTinyModel } from "../../scripts/tiny-gguf/make-tiny-model";
import { db } from "../db/client";
import { newId } from "../lib/ids";
import { addModel } from "../services/models/models";
import type { Role } from "../db/client";
import { createApiKey } from "../services/api-keys/api-keys";
import { enableSigning } from "../services/api-keys/security";
import { createBackend } from "../services/backends/backends";
import { createPolicy } from "../services/routing/policies";
import { startFakeUpstream } from "./fake-upstream";
import { CLI_ACTOR } from "../services/audit/audit";
import { TEST_PASSWORD, type TestTenant, addMemberTo, makeUser, uniq } from "./fixtures";
import type { ProcedurePath } from "./trpc";

export type Access =
  /** acts on one tenant named by the input (tenantId, or slug): non-members get NOT_FOUND, members below minRole FORBIDDEN */
  | { kind: "tenant"; minRole: Role }
  /** platform admins only */
  | { kind: "platform-admin" }
  /** any signed-in user, about themselves */
  | { kind: "authed" };

export interface ProcedureCase {
  type: "query" | "mutation";
  access: Access;
  /** An input acting on `tenant` (creating the rows it needs) that succeeds for any allowed caller. */
  input: (tenant: TestTenant) => Promise<unknown>;
  /**
   * Mutations: the one audit row a successful call writes, and which tenant it is filed under:
   * the tenant the input acted on, the tenant the call returned (create), or none (platform-level).
   */
  audit?: { action: string; tenant: "input" | "result" | "none" };
  /** Inputs that name the caller's own tenant but another tenant's rows (e.g. a membershipId): must be NOT_FOUND. */
  crossTenant?: (own: TestTenant, other: TestTenant) => Promise<unknown>;
}

const memberIn = async (t: TestTenant, role: Role = "member") => (await addMemberTo(t.id, role)).membershipId;
/** A new API key in `t` (made by the CLI actor, so the caller's audit trail stays empty). */
const keyIn = async (t: TestTenant) => (await createApiKey(db(), CLI_ACTOR, t.id, { name: `key ${uniq()}` })).apiKey.id;

/** A key of `t` with signed requests on. */
const signedKeyIn = async (t: TestTenant) => {
  const keyId = await keyIn(t);
  await enableSigning(db(), CLI_ACTOR, t.id, { keyId });
  return keyId;
};

/** One request-log row of `t`, as the usage writer would have written it. */
const logIn = async (t: TestTenant) => {
  const id = newId("req");
  await db().requestLog.create({
    data: { id, requestId: id, tenantId: t.id, endpoint: "chat.completions", modelRequested: "demo", status: "ok", httpStatus: 200, latencyMs: 12 },
  });
  return id;
};
let tinyModelFile: string | undefined;
const tinyModel = () => {
  if (!tinyModelFile) {
    const dir = path.join(os.tmpdir(), `switchyard-procedures-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    tinyModelFile = path.join(dir, "tiny.gguf");
    writeTinyModel(tinyModelFile);
  }
  return tinyModelFile;
};
/** A registered model (platform-wide) backed by the tiny GGUF. */
const modelNamed = async () =>
  (await addModel(db(), CLI_ACTOR, { name: `m-${uniq()}`, source: tinyModel(), contextSize: 256, parallel: 1, threads: 1 })).name;

/** A routing policy (alias) in `t` over a fresh local model, made by the CLI actor. */
const policyIn = async (t: TestTenant) =>
  (await createPolicy(db(), CLI_ACTOR, t.id, { alias: `alias-${uniq()}`, strategy: "single", targets: [{ type: "model", model: await modelNamed() }] })).id;
/** A remote backend nobody listens at (registration does not need it to be up). */
const deadBackend = async () =>
  (await createBackend(db(), CLI_ACTOR, { name: `b-${uniq()}`, baseUrl: "http://127.0.0.1:9/v1", discover: false, connectTimeoutMs: 1000 })).id;
let upstream: Promise<{ url: string }> | undefined;
/** A backend whose /models answers (a fake OpenAI-compatible server on loopback, shared by the run). */
const liveBackend = async () => {
  upstream ??= startFakeUpstream({ models: ["up-model"] });
  const { url } = await upstream;
  return (await createBackend(db(), CLI_ACTOR, { name: `b-${uniq()}`, baseUrl: url, discover: false })).id;
};

export const PROCEDURES: Record<ProcedurePath, ProcedureCase> = {
  "tenants.list": { type: "query", access: { kind: "authed" }, input: async () => undefined },
  "tenants.bySlug": {
    type: "query",
    access: { kind: "tenant", minRole: "viewer" },
    input: async (t) => ({ slug: t.slug }),
  },
  "tenants.get": { type: "query", access: { kind: "tenant", minRole: "viewer" }, input: async (t) => ({ tenantId: t.id }) },
  "tenants.create": {
    type: "mutation",
    access: { kind: "platform-admin" },
    input: async () => ({ slug: `new-${uniq()}`, name: "New tenant" }),
    audit: { action: "tenant.create", tenant: "result" },
  },
  "tenants.update": {
    type: "mutation",
    access: { kind: "tenant", minRole: "admin" },
    input: async (t) => ({ tenantId: t.id, name: `Renamed ${uniq()}` }),
    audit: { action: "tenant.update", tenant: "input" },
  },
  "tenants.security": { type: "query", access: { kind: "tenant", minRole: "viewer" }, input: async (t) => ({ tenantId: t.id }) },
  "tenants.setIpAllowlist": {
    type: "mutation",
    access: { kind: "tenant", minRole: "admin" },
    input: async (t) => ({ tenantId: t.id, ipAllowlist: ["10.0.0.0/8", "2001:db8::/32"] }),
    audit: { action: "tenant.ip_allowlist", tenant: "input" },
  },
  "tenants.setStatus": {
    type: "mutation",
    access: { kind: "platform-admin" },
    input: async (t) => ({ tenantId: t.id, status: "suspended" }),
    audit: { action: "tenant.suspend", tenant: "input" },
  },
  "members.list": { type: "query", access: { kind: "tenant", minRole: "viewer" }, input: async (t) => ({ tenantId: t.id }) },
  "members.add": {
    type: "mutation",
    access: { kind: "tenant", minRole: "owner" },
    input: async (t) => ({ tenantId: t.id, email: (await makeUser()).email, role: "member" }),
    audit: { action: "member.add", tenant: "input" },
  },
  "members.changeRole": {
    type: "mutation",
    access: { kind: "tenant", minRole: "owner" },
    input: async (t) => ({ tenantId: t.id, membershipId: await memberIn(t), role: "admin" }),
    audit: { action: "member.role_change", tenant: "input" },
    crossTenant: async (own, other) => ({ tenantId: own.id, membershipId: await memberIn(other), role: "admin" }),
  },
  "members.remove": {
    type: "mutation",
    access: { kind: "tenant", minRole: "owner" },
    input: async (t) => ({ tenantId: t.id, membershipId: await memberIn(t) }),
    audit: { action: "member.remove", tenant: "input" },
    crossTenant: async (own, other) => ({ tenantId: own.id, membershipId: await memberIn(other) }),
  },
  "users.me": { type: "query", access: { kind: "authed" }, input: async () => undefined },
  "users.changePassword": {
    type: "mutation",
    access: { kind: "authed" },
    input: async () => ({ currentPassword: TEST_PASSWORD, newPassword: "a brand new passphrase" }),
    audit: { action: "user.password_change", tenant: "none" },
  },
  "users.list": { type: "query", access: { kind: "platform-admin" }, input: async () => undefined },
  "users.create": {
    type: "mutation",
    access: { kind: "platform-admin" },
    input: async () => ({ email: `new-${uniq()}@example.test`, name: "New", password: "long enough password" }),
    audit: { action: "user.create", tenant: "none" },
  },
  "users.setDisabled": {
    type: "mutation",
    access: { kind: "platform-admin" },
    input: async () => ({ userId: (await makeUser()).id, disabled: true }),
    audit: { action: "user.disable", tenant: "none" },
  },
  "audit.list": { type: "query", access: { kind: "tenant", minRole: "viewer" }, input: async (t) => ({ tenantId: t.id }) },
  "audit.listAll": { type: "query", access: { kind: "platform-admin" }, input: async () => ({}) },
  "apiKeys.list": { type: "query", access: { kind: "tenant", minRole: "viewer" }, input: async (t) => ({ tenantId: t.id }) },
  "apiKeys.create": {
    type: "mutation",
    access: { kind: "tenant", minRole: "admin" },
    input: async (t) => ({ tenantId: t.id, name: `Key ${uniq()}`, scopes: ["chat", "models"] }),
    audit: { action: "api_key.create", tenant: "input" },
  },
  "apiKeys.revoke": {
    type: "mutation",
    access: { kind: "tenant", minRole: "admin" },
    input: async (t) => ({ tenantId: t.id, keyId: await keyIn(t) }),
    audit: { action: "api_key.revoke", tenant: "input" },
    crossTenant: async (own, other) => ({ tenantId: own.id, keyId: await keyIn(other) }),
  },
  "apiKeys.enableSigning": {
    type: "mutation",
    access: { kind: "tenant", minRole: "admin" },
    input: async (t) => ({ tenantId: t.id, keyId: await keyIn(t) }),
    audit: { action: "api_key.signing_enable", tenant: "input" },
    crossTenant: async (own, other) => ({ tenantId: own.id, keyId: await keyIn(other) }),
  },
  "apiKeys.disableSigning": {
    type: "mutation",
    access: { kind: "tenant", minRole: "admin" },
    input: async (t) => ({ tenantId: t.id, keyId: await signedKeyIn(t) }),
    audit: { action: "api_key.signing_disable", tenant: "input" },
    crossTenant: async (own, other) => ({ tenantId: own.id, keyId: await signedKeyIn(other) }),
  },
  "apiKeys.rotateSigningSecret": {
    type: "mutation",
    access: { kind: "tenant", minRole: "admin" },
    input: async (t) => ({ tenantId: t.id, keyId: await signedKeyIn(t), graceSeconds: 300 }),
    audit: { action: "api_key.signing_rotate", tenant: "input" },
    crossTenant: async (own, other) => ({ tenantId: own.id, keyId: await signedKeyIn(other), graceSeconds: 300 }),
  },
  "apiKeys.setIpAllowlist": {
    type: "mutation",
    access: { kind: "tenant", minRole: "admin" },
    input: async (t) => ({ tenantId: t.id, keyId: await keyIn(t), ipAllowlist: ["203.0.113.0/24"] }),
    audit: { action: "api_key.ip_allowlist", tenant: "input" },
    crossTenant: async (own, other) => ({ tenantId: own.id, keyId: await keyIn(other), ipAllowlist: ["203.0.113.0/24"] }),
  },
  "limits.get": { type: "query", access: { kind: "tenant", minRole: "viewer" }, input: async (t) => ({ tenantId: t.id }) },
  "limits.setTenant": {
    type: "mutation",
    access: { kind: "platform-admin" },
    input: async (t) => ({ tenantId: t.id, rpm: 600, monthlyTokenBudget: 1_000_000, budgetWarnPercent: 90 }),
    audit: { action: "tenant.limits_update", tenant: "input" },
  },
  "limits.setKey": {
    type: "mutation",
    access: { kind: "tenant", minRole: "admin" },
    input: async (t) => ({ tenantId: t.id, keyId: await keyIn(t), rpm: 60, tpm: null }),
    audit: { action: "api_key.limits_update", tenant: "input" },
    crossTenant: async (own, other) => ({ tenantId: own.id, keyId: await keyIn(other), rpm: 60 }),
  },
  "apiKeys.rotate": {
    type: "mutation",
    access: { kind: "tenant", minRole: "admin" },
    input: async (t) => ({ tenantId: t.id, keyId: await keyIn(t), graceSeconds: 60 }),
    audit: { action: "api_key.rotate", tenant: "input" },
    crossTenant: async (own, other) => ({ tenantId: own.id, keyId: await keyIn(other), graceSeconds: 60 }),
  },
  "usage.overview": { type: "query", access: { kind: "tenant", minRole: "viewer" }, input: async (t) => ({ tenantId: t.id, range: "7d" }) },
  "usage.list": {
    type: "query",
    access: { kind: "tenant", minRole: "viewer" },
    input: async (t) => ({ tenantId: t.id, filter: { status: "ok" } }),
  },
  "usage.get": {
    type: "query",
    access: { kind: "tenant", minRole: "viewer" },
    input: async (t) => ({ tenantId: t.id, id: await logIn(t) }),
    crossTenant: async (own, other) => ({ tenantId: own.id, id: await logIn(other) }),
  },
  // viewers are refused unless the tenant lets them read bodies (off by default): members and up
  "usage.body": {
    type: "query",
    access: { kind: "tenant", minRole: "member" },
    input: async (t) => ({ tenantId: t.id, id: await logIn(t) }),
    crossTenant: async (own, other) => ({ tenantId: own.id, id: await logIn(other) }),
  },
  "logging.get": { type: "query", access: { kind: "tenant", minRole: "viewer" }, input: async (t) => ({ tenantId: t.id }) },
  "logging.update": {
    type: "mutation",
    access: { kind: "tenant", minRole: "admin" },
    input: async (t) => ({
      tenantId: t.id,
      bodiesEnabled: true,
      bodyKeyIds: null,
      bodySampleRate: 0.5,
      redactPatterns: [{ name: "ticket", pattern: "TCK-\\d{5}" }],
      bodyRetentionDays: 7,
      usageRetentionDays: null,
      viewersSeeBodies: false,
    }),
    audit: { action: "tenant.log_policy", tenant: "input" },
  },
  "usage.exportCsv": {
    type: "mutation",
    access: { kind: "tenant", minRole: "viewer" },
    input: async (t) => ({ tenantId: t.id, filter: { model: "demo" } }),
    audit: { action: "usage.export", tenant: "input" },
  },
  "models.list": { type: "query", access: { kind: "platform-admin" }, input: async () => undefined },
  "models.engine": { type: "query", access: { kind: "platform-admin" }, input: async () => undefined },
  "models.add": {
    type: "mutation",
    access: { kind: "platform-admin" },
    input: async () => ({ name: `m-${uniq()}`, source: tinyModel(), contextSize: 256, parallel: 1, threads: 1 }),
    audit: { action: "model.add", tenant: "none" },
  },
  "models.remove": {
    type: "mutation",
    access: { kind: "platform-admin" },
    input: async () => ({ name: await modelNamed() }),
    audit: { action: "model.remove", tenant: "none" },
  },
  "models.pull": {
    type: "mutation",
    access: { kind: "platform-admin" },
    // Offline the download fails in the background; the call itself only starts it.
    input: async () => ({ name: (await addModel(db(), CLI_ACTOR, { name: `hf-${uniq()}`, source: "hf:switchyard-test/none/none.gguf" })).name }),
    audit: { action: "model.pull", tenant: "none" },
  },
  "models.setAccess": {
    type: "mutation",
    access: { kind: "platform-admin" },
    input: async (t) => ({ name: await modelNamed(), public: false, tenantIds: [t.id] }),
    audit: { action: "model.access", tenant: "none" },
  },
  "models.load": {
    type: "mutation",
    access: { kind: "platform-admin" },
    input: async () => ({ name: await modelNamed() }),
    audit: { action: "model.load", tenant: "none" },
  },
  "models.unload": {
    type: "mutation",
    access: { kind: "platform-admin" },
    input: async () => ({ name: await modelNamed() }),
    audit: { action: "model.unload", tenant: "none" },
  },
  "routing.list": { type: "query", access: { kind: "tenant", minRole: "viewer" }, input: async (t) => ({ tenantId: t.id }) },
  "routing.targets": { type: "query", access: { kind: "tenant", minRole: "viewer" }, input: async (t) => ({ tenantId: t.id }) },
  "routing.get": {
    type: "query",
    access: { kind: "tenant", minRole: "viewer" },
    input: async (t) => ({ tenantId: t.id, policyId: await policyIn(t) }),
    crossTenant: async (own, other) => ({ tenantId: own.id, policyId: await policyIn(other) }),
  },
  "routing.dryRun": {
    type: "query",
    access: { kind: "tenant", minRole: "member" },
    input: async (t) => {
      const policyId = await policyIn(t);
      const p = await db().routingPolicy.findFirstOrThrow({ where: { id: policyId, tenantId: t.id } });
      return { tenantId: t.id, alias: p.alias, messages: [{ role: "user", content: "Hi" }] };
    },
  },
  "routing.create": {
    type: "mutation",
    access: { kind: "tenant", minRole: "admin" },
    input: async (t) => ({ tenantId: t.id, alias: `alias-${uniq()}`, strategy: "single", targets: [{ type: "model", model: await modelNamed() }] }),
    audit: { action: "routing.create", tenant: "input" },
  },
  "routing.update": {
    type: "mutation",
    access: { kind: "tenant", minRole: "admin" },
    input: async (t) => ({
      tenantId: t.id,
      policyId: await policyIn(t),
      strategy: "fallback",
      targets: [
        { type: "model", model: await modelNamed() },
        { type: "model", model: await modelNamed() },
      ],
    }),
    audit: { action: "routing.update", tenant: "input" },
    crossTenant: async (own, other) => ({ tenantId: own.id, policyId: await policyIn(other), strategy: "single", targets: [{ type: "model", model: await modelNamed() }] }),
  },
  "routing.restore": {
    type: "mutation",
    access: { kind: "tenant", minRole: "admin" },
    input: async (t) => ({ tenantId: t.id, policyId: await policyIn(t), version: 1 }),
    audit: { action: "routing.restore", tenant: "input" },
    crossTenant: async (own, other) => ({ tenantId: own.id, policyId: await policyIn(other), version: 1 }),
  },
  "routing.remove": {
    type: "mutation",
    access: { kind: "tenant", minRole: "admin" },
    input: async (t) => ({ tenantId: t.id, policyId: await policyIn(t) }),
    audit: { action: "routing.remove", tenant: "input" },
    crossTenant: async (own, other) => ({ tenantId: own.id, policyId: await policyIn(other) }),
  },
  "backends.list": { type: "query", access: { kind: "platform-admin" }, input: async () => undefined },
  "pricing.list": { type: "query", access: { kind: "authed" }, input: async () => undefined },
  "pricing.history": { type: "query", access: { kind: "authed" }, input: async () => ({ model: "gpt-4o-mini" }) },
  "pricing.set": {
    type: "mutation",
    access: { kind: "platform-admin" },
    input: async () => ({ model: `priced-${uniq()}`, input: "0.15", output: "0.60" }),
    audit: { action: "price.set", tenant: "none" },
  },
  "pricing.seedList": { type: "query", access: { kind: "platform-admin" }, input: async () => undefined },
  "pricing.importSeed": {
    type: "mutation",
    access: { kind: "platform-admin" },
    input: async () => ({}),
    audit: { action: "price.import_seed", tenant: "none" },
  },
  "pricing.platformSpend": { type: "query", access: { kind: "platform-admin" }, input: async () => ({ range: "24h" }) },
  "backends.create": {
    type: "mutation",
    access: { kind: "platform-admin" },
    input: async () => ({ name: `b-${uniq()}`, baseUrl: "http://127.0.0.1:9/v1", credential: "sk-upstream", discover: false }),
    audit: { action: "backend.create", tenant: "none" },
  },
  "backends.update": {
    type: "mutation",
    access: { kind: "platform-admin" },
    input: async () => ({ id: await deadBackend(), totalTimeoutMs: 30_000 }),
    audit: { action: "backend.update", tenant: "none" },
  },
  "backends.remove": {
    type: "mutation",
    access: { kind: "platform-admin" },
    input: async () => ({ id: await deadBackend() }),
    audit: { action: "backend.remove", tenant: "none" },
  },
  "backends.check": {
    type: "mutation",
    access: { kind: "platform-admin" },
    input: async () => ({ id: await deadBackend() }),
    audit: { action: "backend.check", tenant: "none" },
  },
  "backends.setAccess": {
    type: "mutation",
    access: { kind: "platform-admin" },
    input: async (t) => ({ id: await deadBackend(), public: false, tenantIds: [t.id] }),
    audit: { action: "backend.access", tenant: "none" },
  },
  "backends.discover": {
    type: "mutation",
    access: { kind: "platform-admin" },
    input: async () => ({ id: await liveBackend() }),
    audit: { action: "backend.discover", tenant: "none" },
  },
  "playground.token": {
    type: "mutation",
    access: { kind: "tenant", minRole: "member" },
    input: async (t) => ({ tenantId: t.id }),
    audit: { action: "access_token.issue", tenant: "input" },
  },
};

export const procedureCases = () => Object.entries(PROCEDURES) as [ProcedurePath, ProcedureCase][];

/** Tenant roles from least to most privileged — the tests' own statement of the ladder. */
export const ROLE_LADDER: Role[] = ["viewer", "member", "admin", "owner"];

export function roleAllows(role: Role, minRole: Role): boolean {
  return ROLE_LADDER.indexOf(role) >= ROLE_LADDER.indexOf(minRole);
}

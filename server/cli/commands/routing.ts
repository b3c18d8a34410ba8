/**
 * `backend …` (remote OpenAI-compatible backends) and `alias …` (a tenant's routing
 * policies), calling the same services as the console as CLI_ACTOR. A backend's
 * credential is read from an environment variable or standard input, never from a
 * flag (flags end up in shell history and process listings). Listed in commands/index.ts.
 */
import { CLI_ACTOR } from "../../services/audit/audit";
import { checkBackend, createBackend, listBackends, updateBackend } from "../../services/backends/backends";
import { createPolicy, listPolicies, updatePolicy } from "../../services/routing/policies";
import { dryRun } from "../../services/routing/plan";
import { type PolicyTarget, STRATEGIES, type StrategyName, targetKey } from "../../services/routing/schemas";
import { findTenantBySlug } from "../../services/tenants/tenants";
import type { Db } from "../../db/client";
import { type FlagSpec, type Flags, str } from "../args";
import type { Command } from "../registry";
import { tenantFlag } from "../flags";
import { CliError, table } from "../format";


const visionFlag: FlagSpec = {
  type: "string",
  value: "yes|no|unset",
  description: "Image input: yes (accepts images), no (text only: skipped for requests with images), unset (not declared: forwarded, the upstream decides; the default)",
};

/** `--vision yes|no|unset` → the column's value; undefined when the flag is absent. */
function visionOf(flags: Flags): boolean | null | undefined {
  const v = str(flags, "vision");
  if (v === undefined) return undefined;
  const choice = { yes: true, no: false, unset: null }[v.toLowerCase()];
  if (choice === undefined) throw new CliError(`--vision: "${v}" is not yes, no or unset`);
  return choice;
}

/** How a backend's image input reads in a line: the declaration, else what discovery found. */
function describeVision(b: { vision: boolean | null; visionModels: string[] }): string {
  if (b.vision === true) return "images: yes";
  if (b.vision === false) return "images: no (text only)";
  return `images: not declared${b.visionModels.length ? ` (upstream says ${b.visionModels.join(", ")})` : ""}`;
}

async function backendByName(db: Db, name: string) {
  const b = (await listBackends(db)).find((x) => x.name === name);
  if (!b) throw new CliError(`no backend named ${name} (see: backend list)`);
  return b;
}

/** "model:NAME", "backend:BACKEND_NAME/MODEL", "alias:NAME"; a weight as "…*3". */
async function parseTargets(db: Db, raw: string): Promise<PolicyTarget[]> {
  const backends = await listBackends(db);
  return raw.split(",").map((part) => {
    const [spec, w] = part.trim().split("*");
    const weight = w === undefined ? undefined : Number(w);
    const i = spec!.indexOf(":");
    const kind = spec!.slice(0, i);
    const rest = spec!.slice(i + 1);
    if (kind === "model") return { type: "model", model: rest, weight };
    if (kind === "alias") return { type: "alias", alias: rest, weight };
    if (kind === "backend") {
      const slash = rest.indexOf("/");
      const b = backends.find((x) => x.name === rest.slice(0, slash));
      if (slash < 0 || !b) throw new CliError(`--targets: no backend named "${rest.slice(0, slash)}" in "${spec}"`);
      return { type: "backend", backendId: b.id, model: rest.slice(slash + 1), weight };
    }
    throw new CliError(`--targets: "${spec}" is not model:NAME, backend:BACKEND/MODEL or alias:NAME`);
  });
}

export const routingCommands: Command[] = [
  {
    path: ["backend", "add"],
    summary: "Register a remote OpenAI-compatible backend and discover its models",
    flags: {
      name: { type: "string", value: "NAME", required: true, description: "Backend name (lower-case)" },
      url: { type: "string", value: "BASE_URL", required: true, description: "Base URL up to /v1, e.g. http://10.0.0.5:8080/v1" },
      "credential-env": { type: "string", value: "VAR", description: "Read the bearer credential from environment variable VAR" },
      "credential-stdin": { type: "boolean", description: "Read the bearer credential from standard input (one line)" },
      "no-discover": { type: "boolean", description: "Do not call GET /models now" },
      public: { type: "boolean", description: "Every tenant may route to it (default: none until granted in the console)" },
      vision: visionFlag,
    },
    async run(ctx, flags) {
      const envVar = str(flags, "credential-env");
      let credential: string | undefined;
      if (envVar) {
        credential = ctx.env[envVar];
        if (!credential) throw new CliError(`--credential-env: ${envVar} is not set`);
      } else if (flags["credential-stdin"]) {
        credential = (await ctx.readStdin()).split("\n")[0]!.trim();
      }
      const b = await createBackend(ctx.db(), CLI_ACTOR, {
        name: str(flags, "name")!,
        baseUrl: str(flags, "url")!,
        credential,
        discover: !flags["no-discover"],
        public: flags.public === true,
        vision: visionOf(flags) ?? null,
      });
      const text = `added backend ${b.name} (${b.id}, ${b.public ? "every tenant" : "no tenant yet: grant access in the console"}): ${b.health}${b.lastError ? ` — ${b.lastError}` : ""}; models: ${b.models.join(", ") || "none"}; ${describeVision(b)}`;
      return { text, json: b };
    },
  },
  {
    path: ["backend", "update"],
    summary: "Change a backend's settings (image input)",
    flags: {
      name: { type: "string", value: "NAME", required: true, description: "Backend name" },
      vision: { ...visionFlag, required: true },
    },
    async run(ctx, flags) {
      const id = (await backendByName(ctx.db(), str(flags, "name")!)).id;
      const b = await updateBackend(ctx.db(), CLI_ACTOR, { id, vision: visionOf(flags) });
      return { text: `updated backend ${b.name}: ${describeVision(b)}`, json: b };
    },
  },
  {
    path: ["backend", "list"],
    summary: "List remote backends with their health",
    flags: {},
    async run(ctx) {
      const rows = await listBackends(ctx.db());
      return {
        text: table(
          ["NAME", "ID", "HEALTH", "URL", "MODELS", "IMAGES"],
          rows.map((b) => [
            b.name,
            b.id,
            b.health + (b.enabled ? "" : " (disabled)"),
            b.baseUrl,
            String(b.models.length),
            b.vision === true ? "yes" : b.vision === false ? "no" : b.visionModels.length ? `unset (${b.visionModels.length} say yes)` : "unset",
          ]),
        ),
        json: rows,
      };
    },
  },
  {
    path: ["backend", "check"],
    summary: "Check a backend's health now (a success makes it eligible for routing again)",
    flags: { name: { type: "string", value: "NAME", required: true, description: "Backend name" } },
    async run(ctx, flags) {
      const b = await checkBackend(ctx.db(), CLI_ACTOR, (await backendByName(ctx.db(), str(flags, "name")!)).id);
      return { text: `${b.name}: ${b.health}${b.latencyMs !== null ? ` (${b.latencyMs} ms)` : ""}${b.lastError ? ` — ${b.lastError}` : ""}`, json: b };
    },
  },
  {
    path: ["alias", "list"],
    summary: "List a tenant's aliases (routing policies)",
    flags: { tenant: tenantFlag },
    async run(ctx, flags) {
      const tenant = await findTenantBySlug(ctx.db(), str(flags, "tenant")!);
      const rows = await listPolicies(ctx.db(), tenant.id);
      return {
        text: table(
          ["ALIAS", "STRATEGY", "VERSION", "TARGETS"],
          rows.map((p) => [p.alias, p.strategy, String(p.version), p.targets.map(targetKey).join(", ")]),
        ),
        json: rows,
      };
    },
  },
  {
    path: ["alias", "set"],
    summary: "Create or change an alias (a new version each time)",
    flags: {
      tenant: tenantFlag,
      alias: { type: "string", value: "NAME", required: true, description: "The model name callers use" },
      strategy: { type: "string", value: "S", required: true, description: `One of: ${STRATEGIES.join(", ")}` },
      targets: {
        type: "string",
        value: "LIST",
        required: true,
        description: "Comma-separated model:NAME, backend:BACKEND/MODEL, alias:NAME (weights as …*3); difficulty tiers weakest first",
      },
      share: { type: "string", value: "0.2", description: "difficulty: share of requests for the strongest tier" },
      affinity: { type: "string", value: "none|session", description: "session: a conversation stays on one healthy target (x-session-id, prompt_cache_key, user, or its first messages)" },
    },
    async run(ctx, flags) {
      const tenant = await findTenantBySlug(ctx.db(), str(flags, "tenant")!);
      const alias = str(flags, "alias")!;
      const strategy = str(flags, "strategy")! as StrategyName;
      const targets = await parseTargets(ctx.db(), str(flags, "targets")!);
      const share = str(flags, "share");
      const strongShare = share === undefined ? undefined : Number(share);
      const affinity = str(flags, "affinity") as "none" | "session" | undefined;
      const existing = (await listPolicies(ctx.db(), tenant.id)).find((p) => p.alias === alias);
      const p = existing
        ? await updatePolicy(ctx.db(), CLI_ACTOR, tenant.id, {
            policyId: existing.id,
            strategy,
            targets,
            strongShare: strongShare ?? existing.strongShare,
            affinity: affinity ?? existing.affinity,
            enabled: existing.enabled,
          })
        : await createPolicy(ctx.db(), CLI_ACTOR, tenant.id, { alias, strategy, targets, strongShare, affinity });
      return { text: `${existing ? "updated" : "created"} alias ${p.alias} (version ${p.version}): ${p.strategy} → ${p.targets.map(targetKey).join(", ")}`, json: p };
    },
  },
  {
    path: ["alias", "dry-run"],
    summary: "Show which target an alias would choose for a message, and why (calls no model)",
    flags: {
      tenant: tenantFlag,
      alias: { type: "string", value: "NAME", required: true, description: "Alias" },
      message: { type: "string", value: "TEXT", required: true, description: "The user message" },
      image: { type: "string", value: "URL", description: "Attach an image to the message (text-only targets are then skipped)" },
    },
    async run(ctx, flags) {
      const tenant = await findTenantBySlug(ctx.db(), str(flags, "tenant")!);
      const message = str(flags, "message")!;
      const image = str(flags, "image");
      const content = image ? [{ type: "text" as const, text: message }, { type: "image" as const, url: image }] : message;
      const r = await dryRun(ctx.db(), tenant.id, { alias: str(flags, "alias")!, messages: [{ role: "user", content }] });
      const text = [
        `chosen: ${r.chosen?.key ?? "nothing healthy"}`,
        `reason: ${r.reason}`,
        `fallbacks: ${r.fallbacks.map((f) => f.key).join(" → ") || "none"}`,
        ...(r.skipped.length ? [`skipped: ${r.skipped.map((s) => `${s.key} (${s.why})`).join(", ")}`] : []),
      ].join("\n");
      return { text, json: r };
    },
  },
];

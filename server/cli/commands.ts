/**
 * The CLI's commands: each is a spec (words, flags, help) and a handler that calls
 * the services as CLI_ACTOR, so every change is validated by the services' zod
 * schemas and audited like one made in the console. Handlers return both a text
 * and a JSON rendering; run.ts prints the one asked for.
 *
 * Add a command: add an entry to `commands` below; parsing, help and error
 * reporting come from the table.
 */
import { z } from "zod";
import type { Db } from "../db/client";
import { migrate } from "../db/migrate";
import { env } from "../env";
import { AppError } from "../errors";
import { type ApiKeyView, createApiKey, getApiKey, listApiKeys, revokeApiKey } from "../services/api-keys/api-keys";
import { ExpiresIn } from "../services/api-keys/schemas";
import { API_SCOPES } from "../auth/principal";
import { CLI_ACTOR } from "../services/audit/audit";
import { addMember, changeMemberRole, listMembers, removeMember } from "../services/members/members";
import { ROLES } from "../services/members/schemas";
import { createTenant, findTenantBySlug, listTenantsFor, setTenantStatus } from "../services/tenants/tenants";
import { Email } from "../services/users/schemas";
import { createPlatformAdmin, createUser, listUsers, setUserDisabled } from "../services/users/users";
import type { CommandSpec, FlagSpec, Flags } from "./args";
import { CliError, shortDate, table } from "./format";
import { engineCommands } from "./engine-commands";
import { limitCommands } from "./limit-commands";
import { loggingCommands } from "./logging-commands";
import { priceCommands } from "./price-commands";
import { securityCommands } from "./security-commands";
import { modelCommands } from "./model-commands";
import { routingCommands } from "./routing-commands";

export interface Ctx {
  /** the database, connected on first use */
  db(): Db;
  /** standard input as text (for --password-stdin) */
  readStdin(): Promise<string>;
  /** the environment variables (for --password-env) */
  env: Record<string, string | undefined>;
}

export interface Output {
  text: string;
  json: unknown;
}

export interface Command extends CommandSpec {
  run(ctx: Ctx, flags: Flags): Promise<Output>;
}

const str = (flags: Flags, name: string): string | undefined => {
  const v = flags[name];
  return typeof v === "string" ? v : undefined;
};
/** A flag the parser already required. */
const req = (flags: Flags, name: string): string => str(flags, name)!;

// ---- shared flags -------------------------------------------------------------

const roleList = ROLES.join(", ");
const tenantFlag: FlagSpec = { type: "string", value: "SLUG", required: true, description: "Tenant slug" };
const emailFlag: FlagSpec = { type: "string", value: "EMAIL", required: true, description: "The user's email" };
const roleFlag: FlagSpec = { type: "string", value: "ROLE", required: true, description: `One of: ${roleList}` };

const passwordFlags: Record<string, FlagSpec> = {
  password: { type: "string", value: "PASSWORD", description: "Password (visible in the process list: prefer the two below)" },
  "password-env": { type: "string", value: "VAR", description: "Read the password from environment variable VAR" },
  "password-stdin": { type: "boolean", description: "Read the password from standard input (one line)" },
};
const passwordOneOf = [{ flags: ["password", "password-env", "password-stdin"], required: true }] as const;

async function readPassword(ctx: Ctx, flags: Flags): Promise<string> {
  const direct = str(flags, "password");
  if (direct !== undefined) return direct;
  const variable = str(flags, "password-env");
  if (variable !== undefined) {
    const value = ctx.env[variable];
    if (value === undefined || value === "") throw new CliError(`environment variable ${variable} is not set`);
    return value;
  }
  const input = await ctx.readStdin();
  return input.replace(/\r?\n$/, "");
}

// ---- lookups by the names people type -------------------------------------------

/** Normalises an email the way the services do, reporting a bad one against --email. */
const parseEmail = (raw: string) => z.object({ email: Email }).parse({ email: raw }).email;

async function memberByEmail(db: Db, tenant: { id: string; slug: string }, rawEmail: string) {
  const email = parseEmail(rawEmail);
  const member = (await listMembers(db, tenant.id)).find((m) => m.user.email === email);
  if (!member) throw new AppError("not_found", `${email} is not a member of tenant "${tenant.slug}"`, { code: "not_found" });
  return member;
}

async function userByEmail(db: Db, rawEmail: string) {
  const email = parseEmail(rawEmail);
  const user = (await listUsers(db, { query: email })).find((u) => u.email === email);
  if (!user) throw new AppError("not_found", `User with email ${email} not found`, { code: "not_found" });
  return user;
}

/** "a, b,,c" → ["a", "b", "c"]; undefined when the flag was not given. */
const csv = (value: string | undefined) =>
  value === undefined ? undefined : value.split(",").map((s) => s.trim()).filter(Boolean);

const keySummary = (k: ApiKeyView) =>
  `scopes: ${k.scopes.join(", ")}; models: ${k.models ? k.models.join(", ") : "all"}; expires: ${k.expiresAt ? shortDate(k.expiresAt) + " UTC" : "never"}`;

// ---- commands -----------------------------------------------------------------

async function setStatus(ctx: Ctx, flags: Flags, status: "active" | "suspended"): Promise<Output> {
  const before = await findTenantBySlug(ctx.db(), req(flags, "slug"));
  const tenant = await setTenantStatus(ctx.db(), CLI_ACTOR, before.id, status);
  const verb = status === "suspended" ? "suspended" : "activated";
  const text =
    before.status === status ? `tenant ${tenant.slug} is already ${status}` : `${verb} tenant ${tenant.slug}`;
  return { text, json: tenant };
}

async function setDisabled(ctx: Ctx, flags: Flags, disabled: boolean): Promise<Output> {
  const found = await userByEmail(ctx.db(), req(flags, "email"));
  const user = await setUserDisabled(ctx.db(), CLI_ACTOR, { userId: found.id, disabled });
  return { text: `${disabled ? "disabled" : "enabled"} user ${user.email}`, json: user };
}

export const commands: readonly Command[] = [
  {
    path: ["migrate"],
    summary: "Apply pending database migrations",
    flags: {},
    async run() {
      const result = await migrate(env().DATABASE_URL);
      const text = result.applied.length
        ? result.applied.map((id) => `applied ${id}`).join("\n")
        : `database is up to date (${result.alreadyApplied} migrations applied)`;
      return { text, json: result };
    },
  },
  {
    path: ["admin", "create"],
    summary: "Create a platform admin (--update: promote an existing user and reset their password)",
    flags: {
      email: emailFlag,
      ...passwordFlags,
      name: { type: "string", value: "NAME", description: "Display name (new users only)" },
      update: { type: "boolean", description: "If the user exists, make them a platform admin and reset the password" },
    },
    oneOf: passwordOneOf,
    async run(ctx, flags) {
      const password = await readPassword(ctx, flags);
      try {
        const { user, created } = await createPlatformAdmin(
          ctx.db(),
          CLI_ACTOR,
          { email: req(flags, "email"), password, name: str(flags, "name") },
          { update: flags.update === true },
        );
        const text = created
          ? `created platform admin ${user.email} (${user.id})`
          : `promoted ${user.email} to platform admin and reset the password (${user.id})`;
        return { text, json: { created, user } };
      } catch (e) {
        if (e instanceof AppError && e.code === "email_taken") {
          throw new CliError(`${e.message} (add --update to promote them and reset the password)`);
        }
        throw e;
      }
    },
  },
  {
    path: ["tenant", "create"],
    summary: "Create a tenant",
    flags: {
      slug: { type: "string", value: "SLUG", required: true, description: "Lower-case letters, digits and dashes" },
      name: { type: "string", value: "NAME", required: true, description: "Display name" },
    },
    async run(ctx, flags) {
      const tenant = await createTenant(ctx.db(), CLI_ACTOR, { slug: req(flags, "slug"), name: req(flags, "name") });
      return { text: `created tenant ${tenant.slug} (${tenant.id})`, json: tenant };
    },
  },
  {
    path: ["tenant", "list"],
    summary: "List all tenants",
    flags: {},
    async run(ctx) {
      // the CLI is a platform admin with no memberships: `role` is always null, so it is left out
      const rows = (await listTenantsFor(ctx.db(), { id: "", isPlatformAdmin: true })).map(
        ({ role: _role, ...t }) => t,
      );
      const text = rows.length
        ? table(
            ["SLUG", "NAME", "STATUS", "MEMBERS", "CREATED", "ID"],
            rows.map((t) => [t.slug, t.name, t.status, String(t.memberCount), shortDate(t.createdAt), t.id]),
          )
        : "no tenants";
      return { text, json: rows };
    },
  },
  {
    path: ["tenant", "suspend"],
    summary: "Suspend a tenant: its API keys stop working until it is activated",
    flags: { slug: tenantFlag },
    run: (ctx, flags) => setStatus(ctx, flags, "suspended"),
  },
  {
    path: ["tenant", "activate"],
    summary: "Activate a suspended tenant",
    flags: { slug: tenantFlag },
    run: (ctx, flags) => setStatus(ctx, flags, "active"),
  },
  {
    path: ["user", "create"],
    summary: "Create a user",
    flags: {
      email: emailFlag,
      ...passwordFlags,
      name: { type: "string", value: "NAME", description: "Display name" },
      "platform-admin": { type: "boolean", description: "Make the user a platform admin" },
    },
    oneOf: passwordOneOf,
    async run(ctx, flags) {
      const password = await readPassword(ctx, flags);
      const user = await createUser(ctx.db(), CLI_ACTOR, {
        email: req(flags, "email"),
        name: str(flags, "name") ?? "",
        password,
        isPlatformAdmin: flags["platform-admin"] === true,
      });
      const what = user.isPlatformAdmin ? "platform admin" : "user";
      return { text: `created ${what} ${user.email} (${user.id})`, json: user };
    },
  },
  {
    path: ["user", "list"],
    summary: "List users",
    flags: { search: { type: "string", value: "TEXT", description: "Only users whose email contains TEXT" } },
    async run(ctx, flags) {
      const users = await listUsers(ctx.db(), { query: str(flags, "search") });
      const rows = users.map(({ _count, ...u }) => ({ ...u, tenantCount: _count.memberships }));
      const text = rows.length
        ? table(
            ["EMAIL", "NAME", "ADMIN", "STATUS", "TENANTS", "CREATED", "ID"],
            rows.map((u) => [
              u.email,
              u.name || "-",
              u.isPlatformAdmin ? "yes" : "no",
              u.disabledAt ? "disabled" : "active",
              String(u.tenantCount),
              shortDate(u.createdAt),
              u.id,
            ]),
          )
        : "no users";
      return { text, json: rows };
    },
  },
  {
    path: ["user", "add"],
    summary: "Add an existing user to a tenant with a role",
    flags: { tenant: tenantFlag, email: emailFlag, role: roleFlag },
    async run(ctx, flags) {
      const tenant = await findTenantBySlug(ctx.db(), req(flags, "tenant"));
      const member = await addMember(ctx.db(), CLI_ACTOR, tenant.id, {
        email: req(flags, "email"),
        role: req(flags, "role") as (typeof ROLES)[number],
      });
      return {
        text: `added ${member.user.email} to ${tenant.slug} as ${member.role} (${member.id})`,
        json: { tenant: { id: tenant.id, slug: tenant.slug }, member },
      };
    },
  },
  {
    path: ["user", "role"],
    summary: "Change a member's role in a tenant",
    flags: { tenant: tenantFlag, email: emailFlag, role: roleFlag },
    async run(ctx, flags) {
      const tenant = await findTenantBySlug(ctx.db(), req(flags, "tenant"));
      const before = await memberByEmail(ctx.db(), tenant, req(flags, "email"));
      const member = await changeMemberRole(ctx.db(), CLI_ACTOR, tenant.id, {
        membershipId: before.id,
        role: req(flags, "role") as (typeof ROLES)[number],
      });
      const text =
        before.role === member.role
          ? `${member.user.email} is already ${member.role} in ${tenant.slug}`
          : `${member.user.email} is now ${member.role} in ${tenant.slug} (was ${before.role})`;
      return { text, json: { tenant: { id: tenant.id, slug: tenant.slug }, member, previousRole: before.role } };
    },
  },
  {
    path: ["user", "remove"],
    summary: "Remove a member from a tenant (the user account stays)",
    flags: { tenant: tenantFlag, email: emailFlag },
    async run(ctx, flags) {
      const tenant = await findTenantBySlug(ctx.db(), req(flags, "tenant"));
      const member = await memberByEmail(ctx.db(), tenant, req(flags, "email"));
      await removeMember(ctx.db(), CLI_ACTOR, tenant.id, { membershipId: member.id });
      return {
        text: `removed ${member.user.email} from ${tenant.slug}`,
        json: { tenant: { id: tenant.id, slug: tenant.slug }, removed: member },
      };
    },
  },
  {
    path: ["user", "disable"],
    summary: "Disable a user: they can no longer sign in and their sessions end",
    flags: { email: emailFlag },
    run: (ctx, flags) => setDisabled(ctx, flags, true),
  },
  {
    path: ["user", "enable"],
    summary: "Enable a disabled user",
    flags: { email: emailFlag },
    run: (ctx, flags) => setDisabled(ctx, flags, false),
  },
  {
    path: ["key", "create"],
    summary: "Create an API key for a tenant (the key is printed once)",
    flags: {
      tenant: tenantFlag,
      name: { type: "string", value: "NAME", required: true, description: "What the key is for, e.g. \"billing service\"" },
      scopes: {
        type: "string",
        value: "LIST",
        description: `Comma-separated scopes from: ${API_SCOPES.join(", ")} (default: all)`,
      },
      models: { type: "string", value: "LIST", description: "Comma-separated model names the key may use (default: all)" },
      expires: { type: "string", value: "DURATION", description: 'Expire after e.g. "30d", "12h" or "90m" (default: never)' },
    },
    async run(ctx, flags) {
      const expires = str(flags, "expires");
      const expiresAt = expires === undefined ? null : z.object({ expires: ExpiresIn }).parse({ expires }).expires;
      const tenant = await findTenantBySlug(ctx.db(), req(flags, "tenant"));
      const { key, apiKey } = await createApiKey(ctx.db(), CLI_ACTOR, tenant.id, {
        name: req(flags, "name"),
        scopes: csv(str(flags, "scopes")),
        models: csv(str(flags, "models")) ?? null,
        expiresAt,
      });
      const text = [
        `created API key "${apiKey.name}" (${apiKey.id}) in tenant ${tenant.slug}`,
        `  ${keySummary(apiKey)}`,
        "",
        `key: ${key}`,
        "",
        "Copy the key now: it is shown only this once and cannot be recovered (only revoked).",
      ].join("\n");
      return { text, json: { key, ...apiKey, tenant: { id: tenant.id, slug: tenant.slug } } };
    },
  },
  {
    path: ["key", "list"],
    summary: "List a tenant's API keys (prefixes only; keys are never stored)",
    flags: { tenant: tenantFlag },
    async run(ctx, flags) {
      const tenant = await findTenantBySlug(ctx.db(), req(flags, "tenant"));
      const keys = await listApiKeys(ctx.db(), tenant.id);
      const text = keys.length
        ? table(
            ["NAME", "PREFIX", "SCOPES", "MODELS", "STATUS", "EXPIRES", "LAST USED", "CREATED", "ID"],
            keys.map((k) => [
              k.name,
              `${k.prefix}…`,
              k.scopes.join(","),
              k.models ? k.models.join(",") : "all",
              k.status,
              shortDate(k.expiresAt),
              shortDate(k.lastUsedAt),
              shortDate(k.createdAt),
              k.id,
            ]),
          )
        : `tenant ${tenant.slug} has no API keys`;
      return { text, json: keys };
    },
  },
  {
    path: ["key", "revoke"],
    summary: "Revoke an API key: it stops working within a second",
    flags: { tenant: tenantFlag, id: { type: "string", value: "KEY_ID", required: true, description: "The key's id (key_…)" } },
    async run(ctx, flags) {
      const tenant = await findTenantBySlug(ctx.db(), req(flags, "tenant"));
      const before = await getApiKey(ctx.db(), tenant.id, req(flags, "id"));
      const apiKey = await revokeApiKey(ctx.db(), CLI_ACTOR, tenant.id, { keyId: before.id });
      const text = before.revokedAt
        ? `API key ${apiKey.id} ("${apiKey.name}") was already revoked on ${shortDate(before.revokedAt)} UTC`
        : `revoked API key ${apiKey.id} ("${apiKey.name}") in tenant ${tenant.slug}`;
      return { text, json: { ...apiKey, alreadyRevoked: before.revokedAt !== null } };
    },
  },
  {
    path: ["members"],
    summary: "List a tenant's members",
    flags: { tenant: tenantFlag },
    async run(ctx, flags) {
      const tenant = await findTenantBySlug(ctx.db(), req(flags, "tenant"));
      const members = await listMembers(ctx.db(), tenant.id);
      const text = members.length
        ? table(
            ["EMAIL", "NAME", "ROLE", "STATUS", "ADDED", "ID"],
            members.map((m) => [
              m.user.email,
              m.user.name || "-",
              m.role,
              m.user.disabledAt ? "disabled" : "active",
              shortDate(m.createdAt),
              m.id,
            ]),
          )
        : `tenant ${tenant.slug} has no members`;
      return { text, json: members };
    },
  },
  ...limitCommands,
  ...loggingCommands,
  ...priceCommands,
  ...securityCommands,
  ...modelCommands,
  ...routingCommands,
  ...engineCommands,
];

/** `user create | list | add | role | remove | disable | enable`: accounts and their memberships. */
import { z } from "zod";
import type { Db } from "../../db/client";
import { AppError } from "../../errors";
import { CLI_ACTOR } from "../../services/audit/audit";
import { addMember, changeMemberRole, listMembers, removeMember } from "../../services/members/members";
import { ROLES } from "../../services/members/schemas";
import { findTenantBySlug } from "../../services/tenants/tenants";
import { Email } from "../../services/users/schemas";
import { createUser, listUsers, setUserDisabled } from "../../services/users/users";
import { type FlagSpec, type Flags, req, str } from "../args";
import { emailFlag, passwordFlags, passwordOneOf, readPassword, tenantFlag } from "../flags";
import { shortDate, table } from "../format";
import type { Command, Ctx, Output } from "../registry";

const roleFlag: FlagSpec = { type: "string", value: "ROLE", required: true, description: `One of: ${ROLES.join(", ")}` };

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

async function setDisabled(ctx: Ctx, flags: Flags, disabled: boolean): Promise<Output> {
  const found = await userByEmail(ctx.db(), req(flags, "email"));
  const user = await setUserDisabled(ctx.db(), CLI_ACTOR, { userId: found.id, disabled });
  return { text: `${disabled ? "disabled" : "enabled"} user ${user.email}`, json: user };
}

export const userCommands: readonly Command[] = [
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
];

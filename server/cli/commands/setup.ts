/**
 * `migrate` and `admin create`: what a fresh installation runs first (apply the
 * migrations, create the first platform admin).
 */
import { migrate } from "../../db/migrate";
import { env } from "../../env";
import { AppError } from "../../errors";
import { CLI_ACTOR } from "../../services/audit/audit";
import { createPlatformAdmin } from "../../services/users/users";
import { req, str } from "../args";
import { emailFlag, passwordFlags, passwordOneOf, readPassword } from "../flags";
import { CliError } from "../format";
import type { Command } from "../registry";

export const setupCommands: readonly Command[] = [
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
];

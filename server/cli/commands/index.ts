/**
 * Every CLI command, by group. The order is the order `help` lists them in.
 *
 * Add a command: add it to its group's file (or a new group file here); parsing,
 * help and error reporting come from the table. Each command is a spec (words,
 * flags, help) and a handler that calls the services as CLI_ACTOR, so every change
 * is validated by the services' zod schemas and audited like one made in the
 * console; handlers return a text and a JSON rendering (run.ts prints one).
 */
import { commandTable } from "../registry";
import { engineCommands } from "./engine";
import { keyCommands } from "./keys";
import { limitCommands } from "./limits";
import { loggingCommands } from "./logging";
import { memberCommands } from "./members";
import { modelCommands } from "./models";
import { priceCommands } from "./pricing";
import { routingCommands } from "./routing";
import { securityCommands } from "./security";
import { setupCommands } from "./setup";
import { tenantCommands } from "./tenants";
import { userCommands } from "./users";

export const commands = commandTable(
  setupCommands,
  tenantCommands,
  userCommands,
  keyCommands,
  memberCommands,
  limitCommands,
  loggingCommands,
  priceCommands,
  securityCommands,
  modelCommands,
  routingCommands,
  engineCommands,
);

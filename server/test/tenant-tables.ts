/**
 * The tenant-owned tables, read from prisma/schema.prisma: every model with a
 * `tenantId` column (the schema's convention for tenant-owned rows). The cross-tenant
 * "nothing changed" snapshot (trpc.ts, tenantState) covers each of them, so a table
 * added to the schema is covered without anyone remembering to add it.
 */
import { readFileSync } from "node:fs";
import path from "node:path";

export interface TenantTable {
  /** the Prisma model name, e.g. `RoutingPolicy` */
  model: string;
  /** its client delegate, e.g. `routingPolicy` */
  delegate: string;
  /** its @id column, for a stable order */
  idField: string;
}

const SCHEMA = path.resolve(import.meta.dirname, "../../prisma/schema.prisma");

export function tenantTables(schema = readFileSync(SCHEMA, "utf8")): TenantTable[] {
  const out: TenantTable[] = [];
  for (const [, model, body] of schema.matchAll(/^model (\w+) \{\n([\s\S]*?)^\}/gm)) {
    const fields = body!
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("//") && !l.startsWith("@@"))
      .map((l) => l.split(/\s+/));
    if (!fields.some(([name]) => name === "tenantId")) continue;
    const id = fields.find((f) => f.includes("@id"));
    if (!id) throw new Error(`model ${model} has no single @id column to order its rows by`);
    out.push({ model: model!, delegate: model![0]!.toLowerCase() + model!.slice(1), idField: id[0]! });
  }
  return out;
}

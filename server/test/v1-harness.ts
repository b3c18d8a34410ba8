/**
 * The setup /api/v1 integration tests share: a tenant with a key and an `openai` client
 * for a test server, its usage rows, and aliases onto fake upstreams.
 */
import OpenAI from "openai";
import { db } from "../db/client";
import { createApiKey } from "../services/api-keys/api-keys";
import { CLI_ACTOR } from "../services/audit/audit";
import { createBackend } from "../services/backends/backends";
import { createPolicy } from "../services/routing/policies";
import { usageWriter } from "../services/usage/usage-writer";
import { type TestTenant, makeTenant, uniq } from "./fixtures";

/** A fresh tenant, an API key of it, and an `openai` client on `serverUrl` with that key (no retries). */
export async function v1Tenant(serverUrl: string): Promise<{ tenant: TestTenant; key: string; client: OpenAI }> {
  const tenant = await makeTenant();
  const key = (await createApiKey(db(), CLI_ACTOR, tenant.id, { name: "k" })).key;
  return { tenant, key, client: new OpenAI({ baseURL: `${serverUrl}/api/v1`, apiKey: key, maxRetries: 0 }) };
}

/** The usage row of a request (by its x-request-id), once the writer has flushed. */
export async function usageRowOf(tenantId: string, requestId: string) {
  await usageWriter().flush();
  return db().requestLog.findFirstOrThrow({ where: { tenantId, requestId } });
}

/**
 * An alias of `tenantId` onto one public backend per upstream URL serving "up-model":
 * `single` for one, `fallback` in the given order for several.
 */
export async function aliasOnUpstreams(tenantId: string, prefix: string, upstreams: (string | { url: string; vision?: boolean })[]): Promise<string> {
  const backends = [];
  for (const u of upstreams) {
    const { url, ...extra } = typeof u === "string" ? { url: u } : u;
    backends.push(await createBackend(db(), CLI_ACTOR, { name: `b-${uniq()}`, baseUrl: url, discover: false, models: ["up-model"], public: true, ...extra }));
  }
  const p = await createPolicy(db(), CLI_ACTOR, tenantId, {
    alias: `${prefix}-${uniq()}`,
    strategy: upstreams.length > 1 ? "fallback" : "single",
    targets: backends.map((b) => ({ type: "backend", backendId: b.id, model: "up-model" })) as never,
  });
  return p.alias;
}

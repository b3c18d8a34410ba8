/**
 * Stored Responses API answers (`store`, default true): kept per tenant until they
 * expire (RESPONSES_STORE_TTL_SECONDS), read back by GET /api/v1/responses/{id} and
 * by `previous_response_id`, deleted by DELETE. Every caller-facing query has the
 * tenant in its `where`, and an expired row is treated as gone even before the
 * periodic purge removes it: another tenant's id and an expired id look the same
 * (not found).
 */
import type { Db } from "../../db/client";
import { env } from "../../env";

export interface StoredResponseData {
  id: string;
  tenantId: string;
  apiKeyId: string | null;
  userId: string | null;
  model: string;
  /** the input items as resolved: the previous_response_id chain, then this request's items */
  input: unknown[];
  output: unknown[];
  /** the response object as returned */
  response: Record<string, unknown>;
}

export interface StoredResponse extends StoredResponseData {
  createdAt: Date;
  expiresAt: Date;
}

export async function saveResponse(db: Db, data: StoredResponseData, now = new Date()): Promise<void> {
  await db.storedResponse.create({
    data: {
      id: data.id,
      tenantId: data.tenantId,
      apiKeyId: data.apiKeyId,
      userId: data.userId,
      model: data.model,
      input: JSON.stringify(data.input),
      output: JSON.stringify(data.output),
      response: JSON.stringify(data.response),
      createdAt: now,
      expiresAt: new Date(now.getTime() + env().RESPONSES_STORE_TTL_SECONDS * 1000),
    },
  });
}

/** The tenant's stored response `id`, or null when there is none, it is another tenant's, or it expired. */
export async function findResponse(db: Db, tenantId: string, id: string, now = new Date()): Promise<StoredResponse | null> {
  const row = await db.storedResponse.findFirst({ where: { id, tenantId, expiresAt: { gt: now } } });
  if (!row) return null;
  return {
    ...row,
    input: JSON.parse(row.input) as unknown[],
    output: JSON.parse(row.output) as unknown[],
    response: JSON.parse(row.response) as Record<string, unknown>,
  };
}

/** Deletes the tenant's stored response `id`; false when there was none to delete (as for findResponse). */
export async function deleteResponse(db: Db, tenantId: string, id: string, now = new Date()): Promise<boolean> {
  const { count } = await db.storedResponse.deleteMany({ where: { id, tenantId, expiresAt: { gt: now } } });
  return count > 0;
}

/**
 * Removes expired responses of every tenant — the server's own housekeeping, not a
 * caller's query (so the one place without a tenant in the `where`); it runs in the
 * periodic round (server/startup.ts).
 */
export async function purgeExpiredResponses(db: Db, now = new Date()): Promise<number> {
  const { count } = await db.storedResponse.deleteMany({ where: { expiresAt: { lte: now } } });
  return count;
}

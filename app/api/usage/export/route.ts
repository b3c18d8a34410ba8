import { getSignedInUser } from "@/server/auth/session";
import { db } from "@/server/db/client";
import { logger } from "@/server/log/logger";
import { usageCsv } from "@/server/services/usage/dashboard";
import { verifyExportToken } from "@/server/services/usage/export-token";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const text = (status: number, message: string) =>
  new Response(`${message}\n`, { status, headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" } });

/**
 * Streams a usage CSV granted by usage.exportCsv (which checked the role and wrote
 * the audit entry). The link only works in the browser session it was made for.
 */
export async function GET(req: Request) {
  const grant = await verifyExportToken(new URL(req.url).searchParams.get("token") ?? "");
  if (!grant) return text(403, "This export link is invalid or has expired. Start the export again from the console.");
  const user = await getSignedInUser();
  if (!user || user.id !== grant.userId) return text(403, "This export link belongs to another session. Start the export again.");
  const tenant = await db().tenant.findUnique({ where: { id: grant.tenantId }, select: { slug: true } });
  if (!tenant) return text(404, "This tenant no longer exists.");

  const rows = usageCsv(db(), grant.tenantId, grant.filter);
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await rows.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(next.value));
      } catch (e) {
        logger("usage export").error({ err: e }, "failed");
        controller.error(e);
      }
    },
    // The browser gave up on the download: stop reading the database.
    async cancel() {
      await rows.return(undefined);
    },
  });
  const day = new Date().toISOString().slice(0, 10);
  return new Response(body, {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="usage-${tenant.slug}-${day}.csv"`,
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    },
  });
}

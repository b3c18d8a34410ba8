import { getSignedInUser } from "@/server/auth/session";
import { db } from "@/server/db/client";
import { logger } from "@/server/log/logger";
import { openUsageExport } from "@/server/services/usage/export";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const text = (status: number, message: string) =>
  new Response(`${message}\n`, { status, headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" } });

/**
 * Streams a usage CSV granted by usage.exportCsv (which checked the role and wrote
 * the audit entry). The link only works in the browser session it was made for.
 */
export async function GET(req: Request) {
  const token = new URL(req.url).searchParams.get("token") ?? "";
  const download = await openUsageExport(db(), token, async () => (await getSignedInUser())?.id ?? null);
  if (!download.ok) return text(download.status, download.message);

  const rows = download.rows;
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
  return new Response(body, {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${download.filename}"`,
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    },
  });
}

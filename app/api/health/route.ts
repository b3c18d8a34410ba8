import { readiness } from "@/server/health";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/** Liveness by default; `?ready=1` adds readiness (database reachable, migrations applied). */
export async function GET(req: Request) {
  if (!new URL(req.url).searchParams.has("ready")) return Response.json({ status: "ok" });
  const r = await readiness();
  return Response.json({ status: r.ready ? "ready" : "not_ready", checks: r.checks }, { status: r.ready ? 200 : 503 });
}

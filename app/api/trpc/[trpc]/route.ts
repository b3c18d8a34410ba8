import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { env } from "@/server/env";
import { clientIp } from "@/server/http/forwarded";
import { getSessionInfo } from "@/server/auth/session";
import { createContext } from "@/server/trpc/init";
import { appRouter } from "@/server/trpc/root";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

// Route handlers see the URL with BASE_PATH already removed, so the endpoint is
// "/api/trpc" here while the browser client calls "<BASE_PATH>/api/trpc".
const handler = (req: Request) =>
  fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    createContext: async () => createContext({ session: await getSessionInfo(), ip: clientIp(req.headers, env().TRUST_PROXY) }),
  });

export { handler as GET, handler as POST };

import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { clientIp } from "@/server/auth/client-ip";
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
    createContext: async () => createContext({ session: await getSessionInfo(), ip: clientIp(req.headers) }),
  });

export { handler as GET, handler as POST };

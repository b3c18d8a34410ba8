import NextAuth from "next-auth";
import { authOptions } from "@/server/auth/options";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

type Ctx = { params: Promise<{ nextauth: string[] }> };

// Options are built per call (cached) rather than at import, so `next build` never needs AUTH_SECRET.
const handler = (req: Request, ctx: Ctx) => NextAuth(req as never, ctx as never, authOptions());

export { handler as GET, handler as POST };

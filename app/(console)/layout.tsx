import { redirect } from "next/navigation";
import { getSignedInUser } from "@/server/auth/session";
import { ToastProvider } from "../_components/ui";
import { Shell } from "./shell";

export const dynamic = "force-dynamic";

// The proxy already sent signed-out visitors to sign-in with a return path; this
// check covers sessions that are still well-formed but no longer valid.
export default async function ConsoleLayout({ children }: { children: React.ReactNode }) {
  const user = await getSignedInUser();
  if (!user) redirect("/signin");
  return (
    <ToastProvider>
      <Shell user={{ email: user.email, name: user.name, isPlatformAdmin: user.isPlatformAdmin }}>{children}</Shell>
    </ToastProvider>
  );
}

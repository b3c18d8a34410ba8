import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { getSignedInUser } from "@/server/auth/session";
import { env } from "@/server/env";
import { safeCallbackPath } from "../_lib/callback-url";
import { SignInForm } from "./sign-in-form";

export const metadata: Metadata = { title: "Sign in" };
export const dynamic = "force-dynamic";

const ERRORS: Record<string, string> = {
  AccessDenied: "This account can't sign in here. Ask a platform admin to add you.",
  OAuthSignin: "Single sign-on failed to start. Try again.",
  OAuthCallback: "Single sign-on failed. Try again.",
  SessionRequired: "Sign in to continue.",
};

export default async function SignInPage({
  searchParams,
}: {
  searchParams: Promise<{ callbackUrl?: string; error?: string }>;
}) {
  const sp = await searchParams;
  const e = env();
  const callback = safeCallbackPath(sp.callbackUrl, e.BASE_PATH, new URL(e.APP_URL).origin);
  if (await getSignedInUser()) redirect(callback);
  return (
    <main className="auth-wrap">
      <div className="auth-card">
        <div className="auth-brand">
          {/* eslint-disable-next-line @next/next/no-img-element -- tiny static SVG, no optimisation wanted */}
          <img src={`${e.BASE_PATH}/icon.svg`} alt="" />
          Switchyard
        </div>
        <p className="auth-sub">Sign in to the admin console</p>
        <div className="panel">
          <div className="panel-body">
            <SignInForm
              callbackPath={callback}
              initialError={sp.error ? (ERRORS[sp.error] ?? "Sign-in failed. Try again.") : undefined}
              oidcName={e.OIDC_ENABLED ? e.OIDC_NAME : undefined}
            />
          </div>
        </div>
      </div>
    </main>
  );
}

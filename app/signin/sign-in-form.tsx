"use client";
import { signIn } from "next-auth/react";
import { useState } from "react";
import { Field } from "../_components/form";
import { Alert } from "../_components/ui";
import { useBasePath } from "../_lib/base-path";

export function SignInForm({
  callbackPath,
  initialError,
  oidcName,
}: {
  callbackPath: string;
  initialError?: string;
  oidcName?: string;
}) {
  const basePath = useBasePath();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState(initialError);
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: React.FormEvent) {
    e.preventDefault();
    if (!email.trim() || !password) {
      setError("Enter your email and password.");
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const res = await signIn("credentials", { email: email.trim(), password, redirect: false });
      if (res?.ok && !res.error) {
        // A full navigation, so server components see the new session cookie.
        window.location.assign(`${basePath}${callbackPath}`);
        return;
      }
      setError(
        res?.error === "CredentialsSignin"
          ? "Wrong email or password."
          : res?.error?.startsWith("Too many")
            ? res.error
            : "Sign-in failed. Try again.",
      );
    } catch {
      setError("Can't reach the server. Check your connection and try again.");
    }
    setBusy(false);
  }

  return (
    <form onSubmit={onSubmit} noValidate>
      <Alert>{error}</Alert>
      <Field label="Email" id="email">
        <input
          id="email"
          className="input"
          type="email"
          autoComplete="username"
          autoFocus
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
      </Field>
      <Field label="Password" id="password">
        <input
          id="password"
          className="input"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </Field>
      <button type="submit" className="btn btn-primary w-full" disabled={busy}>
        {busy ? "Signing in…" : "Sign in"}
      </button>
      {oidcName && (
        <>
          <div className="divider">or</div>
          <button
            type="button"
            className="btn w-full"
            onClick={() => signIn("oidc", { callbackUrl: `${window.location.origin}${basePath}${callbackPath}` })}
          >
            Continue with {oidcName}
          </button>
        </>
      )}
    </form>
  );
}

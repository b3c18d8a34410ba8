import { env } from "../env";

/** Session cookie name; `__Secure-` when the public URL is https. Lightweight so the proxy can import it. */
export function sessionCookieName(): string {
  return `${env().APP_URL.startsWith("https://") ? "__Secure-" : ""}switchyard.session-token`;
}

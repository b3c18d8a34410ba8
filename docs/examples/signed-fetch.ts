// Signed requests for Switchyard: a `fetch` that adds X-Switchyard-Signature.
// Use it with the official openai SDK:  new OpenAI({ baseURL, apiKey, fetch: signedFetch(secret) })
// (README.md → "Signed requests" includes this file verbatim; a test runs it with the real SDK.)
import { createHash, createHmac } from "node:crypto";

export function signedFetch(secret: string, base: typeof fetch = fetch): typeof fetch {
  // Two identical requests in the same second would carry the same signature, and the
  // second would be refused as a replay (e.g. the SDK retrying at once): move it on a second.
  const lastT = new Map<string, number>();
  return async (input, init = {}) => {
    const request = input instanceof Request ? input : null;
    const url = new URL(request ? request.url : String(input));
    const method = (init.method ?? request?.method ?? "GET").toUpperCase();
    const body = init.body ?? "";
    if (typeof body !== "string" && !(body instanceof Uint8Array)) {
      throw new Error("signedFetch: only string or byte bodies can be signed");
    }
    const path = url.pathname + url.search; // includes the base path, e.g. /llm/api/v1/...
    const bodyHash = createHash("sha256").update(body).digest("hex");
    const now = Math.floor(Date.now() / 1000);
    for (const [k, t] of lastT) if (t < now - 1) lastT.delete(k);
    const id = `${method} ${path} ${bodyHash}`;
    const t = Math.max(now, (lastT.get(id) ?? -1) + 1);
    lastT.set(id, t);
    const v1 = createHmac("sha256", secret).update(`${t}.${method}.${path}.${bodyHash}`).digest("hex");
    const headers = new Headers(init.headers ?? request?.headers);
    headers.set("X-Switchyard-Signature", `t=${t},v1=${v1}`);
    return base(request ?? input, { ...init, headers });
  };
}

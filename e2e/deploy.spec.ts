/**
 * What breaks first when an app is mounted at a sub-path or put behind a proxy:
 * redirects, absolute URLs, forwarded headers and streaming. Runs in every cell of
 * the matrix (base path "", /llm, /ai/gateway × `next start` directly or behind nginx).
 */
import Database from "better-sqlite3";
import { readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { expect, test } from "./fixtures";
import { E2E } from "./env";

const B = E2E.basePath;
const key = () => readFileSync(path.join(E2E.root, ".tmp/e2e/api-key"), "utf8").trim();

function logRow(requestId: string) {
  const db = new Database(path.join(E2E.root, ".tmp/e2e/e2e.db"), { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare("SELECT status, httpStatus, stream, completionTokens FROM RequestLog WHERE requestId = ?")
      .get(requestId) as { status: string; httpStatus: number; stream: number; completionTokens: number } | undefined;
  } finally {
    db.close();
  }
}

/** A raw GET, so the Host header can be anything (fetch won't let us set it). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; location?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode!, location: res.headers.location, body }));
    });
    req.on("error", reject);
  });
}

test("the bare base path and its trailing-slash form reach sign-in without a redirect loop", async () => {
  for (const entry of [`${E2E.origin}${B}`, `${E2E.origin}${B}/`]) {
    const res = await fetch(entry, { redirect: "follow" });
    expect(res.status, entry).toBe(200);
    expect(res.url, entry).toBe(`${E2E.origin}${B}/signin`);
  }
});

test("a streamed generation reaches the browser while it is still running (no proxy buffering)", async ({ page }) => {
  await page.goto(`${B}/signin`);
  const maxTokens = 1900;
  // Read up to the first token, then hang up. Had anything on the way buffered the
  // stream, the first token would only arrive once all of them were generated, and
  // the request would be logged as complete rather than cancelled.
  const { requestId, first } = await page.evaluate(
    async ({ url, key, maxTokens }) => {
      const ac = new AbortController();
      const res = await fetch(url, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "demo", prompt: "Once upon a time", max_tokens: maxTokens, stream: true }),
        signal: ac.signal,
      });
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let buffered = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before its first token: ${buffered}`);
        buffered += decoder.decode(value, { stream: true });
        const event = buffered.split("\n\n").find((e) => e.startsWith("data: {") && /"text":"[^"]/.test(e));
        if (event) {
          ac.abort();
          return { requestId: res.headers.get("x-request-id")!, first: event };
        }
      }
    },
    { url: `${B}/api/v1/completions`, key: key(), maxTokens },
  );
  expect(first).toContain('"object":"text_completion"');
  await expect.poll(() => logRow(requestId)?.status, { timeout: 15_000 }).toBe("cancelled");
  const row = logRow(requestId)!;
  expect(row.stream).toBe(1);
  expect(row.completionTokens).toBeGreaterThan(0);
  expect(row.completionTokens).toBeLessThan(maxTokens);
});

test("forwarded headers shape the OpenAPI server URL only when they come from the trusted proxy", async () => {
  const forged = { "x-forwarded-host": "evil.example", "x-forwarded-proto": "https", "x-forwarded-prefix": "/evil" };
  const res = await fetch(`${E2E.origin}${B}/api/v1/openapi.json`, { headers: forged });
  expect(res.status).toBe(200);
  const spec = (await res.json()) as { servers: { url: string }[] };
  // Directly: a relative URL, right for however the client got here. Behind nginx
  // (TRUST_PROXY=1): absolute, from what nginx wrote — it overwrites the client's values.
  expect(spec.servers).toEqual([{ url: E2E.via === "nginx" ? `${E2E.origin}${B}/api/v1` : `${B}/api/v1` }]);
});

// Next makes a redirect to its own origin relative; either way it must land on ours.
function expectSignInRedirect(res: { status: number; location?: string }) {
  expect(res.status).toBe(307);
  expect(res.location).not.toContain("evil");
  expect(new URL(res.location!, E2E.origin).href).toBe(`${E2E.origin}${B}/signin?callbackUrl=%2Ftenants`);
}

test("a forged Host or X-Forwarded-Host never steers a redirect", async () => {
  const target = `http://127.0.0.1:${new URL(E2E.origin).port}${B}/tenants`;
  if (E2E.via === "nginx") {
    // Unknown host names are dropped by the shipped config's default server.
    await expect(rawGet(target, { host: "evil.example" })).rejects.toThrow(/socket hang up|ECONNRESET/);
  } else {
    expectSignInRedirect(await rawGet(target, { host: "evil.example", "x-forwarded-host": "evil.example" }));
  }
  expectSignInRedirect(await rawGet(target, { host: new URL(E2E.origin).host, "x-forwarded-host": "evil.example" }));
});

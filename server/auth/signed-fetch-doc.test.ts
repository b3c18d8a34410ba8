import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { signatureHeader } from "./request-signing";
import { signedFetch } from "../../docs/examples/signed-fetch";

const root = path.resolve(import.meta.dirname, "../..");

describe("docs/examples/signed-fetch.ts", () => {
  it("is in README.md verbatim", () => {
    expect(readFileSync(path.join(root, "README.md"), "utf8")).toContain(readFileSync(path.join(root, "docs/examples/signed-fetch.ts"), "utf8"));
  });

  it("signs what it sends, the way the server checks it, and never repeats a signature", async () => {
    const seen: { url: string; headers: Headers; body: unknown }[] = [];
    const fake = (async (url: string, init: RequestInit) => {
      seen.push({ url, headers: new Headers(init.headers), body: init.body });
      return new Response("{}");
    }) as unknown as typeof fetch;
    const f = signedFetch("sy-sig-x", fake);
    const body = '{"a":1}';
    await f("http://h/llm/api/v1/chat/completions?x=1", { method: "post", body, headers: { authorization: "Bearer k" } });
    await f("http://h/llm/api/v1/chat/completions?x=1", { method: "post", body });
    const [a, b] = seen.map((s) => s.headers.get("x-switchyard-signature")!);
    const t = Number(/t=(\d+)/.exec(a!)![1]);
    expect(a).toBe(signatureHeader("sy-sig-x", t, "POST", "/llm/api/v1/chat/completions?x=1", body));
    expect(b).not.toBe(a);
    expect(seen[0]!.headers.get("authorization")).toBe("Bearer k");
  });
});

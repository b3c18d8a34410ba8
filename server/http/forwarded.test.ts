import { describe, expect, it } from "vitest";
import { parseServerEnv } from "../env";
import { clientIp, parseTrustProxy, publicAppUrl } from "./forwarded";

describe("clientIp", () => {
  it("takes the last X-Forwarded-For entry (the one our server or proxy appended) from a Headers object", () => {
    expect(clientIp(new Headers({ "x-forwarded-for": "203.0.113.9" }), 0)).toBe("203.0.113.9");
    expect(clientIp(new Headers({ "X-Forwarded-For": "6.6.6.6, 10.0.0.1,  198.51.100.7 " }), 1)).toBe("198.51.100.7");
    expect(clientIp(new Headers({ "x-forwarded-for": "::1" }), 0)).toBe("::1");
  });

  it("reads a plain header record (next-auth's request) the same way", () => {
    expect(clientIp({ "x-forwarded-for": "1.1.1.1, 2001:db8::1" }, 0)).toBe("2001:db8::1");
    expect(clientIp({ "X-Forwarded-For": ["1.1.1.1", "2001:db8::2"] }, 0)).toBe("2001:db8::2");
    expect(clientIp({ host: "x" }, 0)).toBeNull();
  });

  it("returns null when there is no usable address", () => {
    expect(clientIp(new Headers(), 1)).toBeNull();
    expect(clientIp(new Headers({ "x-forwarded-for": "" }), 0)).toBeNull();
    expect(clientIp({ "x-forwarded-for": "   " }, 0)).toBeNull();
    expect(clientIp({}, 0)).toBeNull();
  });

  it("behind N trusted proxies, skips the N-1 addresses the inner proxies appended and ignores the client's entries", () => {
    const chain = new Headers({ "x-forwarded-for": "127.0.0.1, 198.51.100.7, 10.0.0.2" });
    expect(clientIp(chain, 2)).toBe("198.51.100.7");
    expect(clientIp(chain, 1)).toBe("10.0.0.2");
    // Fewer entries than hops: the leftmost is the best we have.
    expect(clientIp(new Headers({ "x-forwarded-for": "198.51.100.7" }), 3)).toBe("198.51.100.7");
  });
});

describe("parseTrustProxy and TRUST_PROXY", () => {
  it("accepts booleans and hop counts", () => {
    expect([undefined, "", "false", "0", "off"].map(parseTrustProxy)).toEqual([0, 0, 0, 0, 0]);
    expect(["true", "1", "2", "ON"].map(parseTrustProxy)).toEqual([1, 1, 2, 1]);
    expect(["maybe", "-1", "1.5", "100"].map(parseTrustProxy)).toEqual([null, null, null, null]);
  });

  it("is validated with the rest of the environment", () => {
    const base = { AUTH_SECRET: "x".repeat(32) };
    expect(parseServerEnv(base).TRUST_PROXY).toBe(0);
    expect(parseServerEnv({ ...base, TRUST_PROXY: "true" }).TRUST_PROXY).toBe(1);
    expect(() => parseServerEnv({ ...base, TRUST_PROXY: "sometimes" })).toThrow(/TRUST_PROXY: must be/);
  });
});

describe("publicAppUrl", () => {
  const forwarded = new Headers({
    "x-forwarded-proto": "https",
    "x-forwarded-host": "gateway.example.com",
    "x-forwarded-prefix": "/edge",
  });

  it("without a trusted proxy is the base path alone, whatever the headers say", () => {
    expect(publicAppUrl(forwarded, { trustProxy: 0, basePath: "/llm" })).toBe("/llm");
    expect(publicAppUrl(forwarded, { trustProxy: 0, basePath: "" })).toBe("");
  });

  it("behind a trusted proxy is built from proto, host and prefix", () => {
    expect(publicAppUrl(forwarded, { trustProxy: 1, basePath: "/ai/gateway" })).toBe("https://gateway.example.com/edge/ai/gateway");
    expect(publicAppUrl(new Headers({ "x-forwarded-host": "localhost:8080" }), { trustProxy: 1, basePath: "" })).toBe(
      "http://localhost:8080",
    );
    expect(publicAppUrl(new Headers({ "x-forwarded-host": "[::1]:8080", "x-forwarded-proto": "https" }), { trustProxy: 1, basePath: "/llm" })).toBe(
      "https://[::1]:8080/llm",
    );
  });

  it("takes the value our own proxy wrote (rightmost) and ignores malformed values instead of echoing them", () => {
    const appended = new Headers({ "x-forwarded-host": "evil.example, gateway.example.com", "x-forwarded-proto": "https, http" });
    expect(publicAppUrl(appended, { trustProxy: 1, basePath: "/llm" })).toBe("http://gateway.example.com/llm");
    for (const host of ["evil.example/path", "a b", "evil.example@x", "<script>", "x:99999999"]) {
      expect(publicAppUrl(new Headers({ "x-forwarded-host": host }), { trustProxy: 1, basePath: "/llm" })).toBe("/llm");
    }
    const badPrefix = new Headers({ "x-forwarded-host": "gateway.example.com", "x-forwarded-prefix": "//evil.example" });
    expect(publicAppUrl(badPrefix, { trustProxy: 1, basePath: "/llm" })).toBe("http://gateway.example.com/llm");
    const badProto = new Headers({ "x-forwarded-host": "gateway.example.com", "x-forwarded-proto": "javascript" });
    expect(publicAppUrl(badProto, { trustProxy: 1, basePath: "" })).toBe("http://gateway.example.com");
  });
});

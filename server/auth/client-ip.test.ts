import { describe, expect, it } from "vitest";
import { clientIp } from "./client-ip";

describe("clientIp", () => {
  it("takes the last X-Forwarded-For entry (the one our server appended) from a Headers object", () => {
    expect(clientIp(new Headers({ "x-forwarded-for": "203.0.113.9" }))).toBe("203.0.113.9");
    expect(clientIp(new Headers({ "X-Forwarded-For": "6.6.6.6, 10.0.0.1,  198.51.100.7 " }))).toBe("198.51.100.7");
    expect(clientIp(new Headers({ "x-forwarded-for": "::1" }))).toBe("::1");
  });

  it("reads a plain header record (next-auth's request) the same way", () => {
    expect(clientIp({ "x-forwarded-for": "1.1.1.1, 2001:db8::1" })).toBe("2001:db8::1");
    expect(clientIp({ host: "x" })).toBeNull();
  });

  it("returns null when there is no usable address", () => {
    expect(clientIp(new Headers())).toBeNull();
    expect(clientIp(new Headers({ "x-forwarded-for": "" }))).toBeNull();
    expect(clientIp({ "x-forwarded-for": "   " })).toBeNull();
    expect(clientIp({})).toBeNull();
  });

  it("cannot be spoofed by a client-supplied first entry", () => {
    const forged = clientIp(new Headers({ "x-forwarded-for": "127.0.0.1, 198.51.100.7" }));
    expect(forged).toBe("198.51.100.7");
  });
});

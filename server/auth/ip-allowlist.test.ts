import { describe, expect, it } from "vitest";
import { IpAllowlist } from "../services/api-keys/schemas";
import { ipAllowed, normalizeCidr, parseIp } from "./ip-allowlist";

describe("parseIp", () => {
  it.each([
    ["203.0.113.7", 4],
    ["::1", 6],
    ["::", 6],
    ["2001:db8::1", 6],
    ["2001:DB8:0:0:0:0:0:1", 6],
    ["fe80::1%eth0", 6],
    ["[2001:db8::1]", 6],
    ["::ffff:203.0.113.7", 4],
    ["::ffff:cb00:7107", 4],
  ])("%s is IPv%i", (s, v) => expect(parseIp(s)?.version).toBe(v));

  it.each(["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "x", "1:2:3:4:5:6:7:8:9", "1::2::3", "2001:db8:::1", "12345::", "::ffff:1.2.3"])(
    "%j is not an address",
    (s) => expect(parseIp(s)).toBeNull(),
  );

  it("an IPv4-mapped IPv6 address is its IPv4 address", () => {
    expect(parseIp("::ffff:10.1.2.3")).toEqual(parseIp("10.1.2.3"));
  });
});

describe("normalizeCidr", () => {
  it.each([
    ["10.0.0.0/8", "10.0.0.0/8"],
    ["203.0.113.7", "203.0.113.7"],
    ["203.0.113.7/32", "203.0.113.7"],
    ["0.0.0.0/0", "0.0.0.0/0"],
    ["2001:0DB8:0000::/32", "2001:db8::/32"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["::/0", "::/0"],
    ["::ffff:10.0.0.0/104", "10.0.0.0/8"],
  ])("%s → %s", (a, b) => expect(normalizeCidr(a)).toBe(b));

  it.each(["10.0.0.1/8", "10.0.0.0/33", "2001:db8::/129", "10.0.0.0/-1", "10.0.0.0/8/8", "/8", "2001:db8::1/32"])("%s is refused", (s) =>
    expect(normalizeCidr(s)).toBeNull(),
  );
});

describe("ipAllowed", () => {
  const list = ["10.0.0.0/8", "203.0.113.7", "2001:db8::/32"];
  it.each([
    ["10.255.0.1", true],
    ["11.0.0.1", false],
    ["203.0.113.7", true],
    ["203.0.113.8", false],
    ["2001:db8:ffff::1", true],
    ["2001:db9::1", false],
    ["::ffff:10.9.9.9", true],
    ["::1", false],
  ])("%s → %s", (ip, ok) => expect(ipAllowed(ip, list)).toBe(ok));

  it("no list allows everything; an unknown or garbage address is allowed by no list", () => {
    expect(ipAllowed(null, null)).toBe(true);
    expect(ipAllowed(null, ["0.0.0.0/0", "::/0"])).toBe(false);
    expect(ipAllowed("not-an-ip", ["0.0.0.0/0"])).toBe(false);
    expect(ipAllowed("1.2.3.4", [])).toBe(false);
  });
});

describe("IpAllowlist (the input schema)", () => {
  it("canonicalises, deduplicates, and turns an empty list into null", () => {
    expect(IpAllowlist.parse(["10.0.0.0/8", " 2001:DB8::/32 ", "10.0.0.0/8", ""])).toEqual(["10.0.0.0/8", "2001:db8::/32"]);
    expect(IpAllowlist.parse([])).toBeNull();
    expect(IpAllowlist.parse(null)).toBeNull();
  });

  it("names the bad entry", () => {
    const r = IpAllowlist.safeParse(["10.0.0.0/8", "10.0.0.1/8"]);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toContain('"10.0.0.1/8"');
  });
});

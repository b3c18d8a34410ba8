/**
 * IP allowlists: CIDR ranges (IPv4 and IPv6) an API key — or every key of a tenant —
 * may be used from. Pure and client-safe (no node: imports): the console's forms and
 * the CLI validate with the same functions the gateway matches with.
 *
 *   "203.0.113.7"      one IPv4 address (= /32)
 *   "10.0.0.0/8"       an IPv4 range
 *   "2001:db8::/32"    an IPv6 range; "::1" one IPv6 address (= /128)
 *
 * IPv4-mapped IPv6 addresses (::ffff:203.0.113.7, what a dual-stack socket reports)
 * are matched as the IPv4 address they carry.
 */

export interface ParsedIp {
  version: 4 | 6;
  value: bigint;
}

export interface ParsedCidr extends ParsedIp {
  bits: number;
}

function parseIpv4(s: string): bigint | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  let n = 0n;
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return null;
    n = (n << 8n) | BigInt(p);
  }
  return n;
}

function parseIpv6(s: string): bigint | null {
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  // an embedded IPv4 tail (::ffff:1.2.3.4) is two more 16-bit groups
  if (s.includes(".")) {
    const lastColon = s.lastIndexOf(":");
    const v4 = parseIpv4(s.slice(lastColon + 1));
    if (v4 === null) return null;
    s = `${s.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const group = (g: string) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? BigInt(parseInt(g, 16)) : null);
  const side = (h: string | undefined) => (h ? h.split(":").map(group) : []);
  const head = side(halves[0]);
  const rest = halves.length === 2 ? side(halves[1]) : [];
  if (head.includes(null) || rest.includes(null)) return null;
  const present = head.length + rest.length;
  let groups: bigint[];
  if (halves.length === 2) {
    if (present > 7) return null;
    groups = [...(head as bigint[]), ...Array<bigint>(8 - present).fill(0n), ...(rest as bigint[])];
  } else {
    if (present !== 8) return null;
    groups = head as bigint[];
  }
  return groups.reduce((n, g) => (n << 16n) | g, 0n);
}

const MAPPED_PREFIX = 0xffffn << 32n;

/** An address as a number; IPv4-mapped IPv6 becomes IPv4. Null for anything that is not an address. */
export function parseIp(raw: string): ParsedIp | null {
  const s = raw.trim().replace(/^\[(.*)\]$/, "$1");
  if (!s || s.length > 64) return null;
  if (!s.includes(":")) {
    const v4 = parseIpv4(s);
    return v4 === null ? null : { version: 4, value: v4 };
  }
  const v6 = parseIpv6(s);
  if (v6 === null) return null;
  if (v6 >> 32n === 0xffffn) return { version: 4, value: v6 - MAPPED_PREFIX };
  return { version: 6, value: v6 };
}

/** "10.0.0.0/8" → its network; a bare address is a /32 or /128. Host bits must be zero. */
export function parseCidr(raw: string): ParsedCidr | null {
  const [addr, len, extra] = raw.trim().split("/");
  if (extra !== undefined || !addr) return null;
  const ip = parseIp(addr);
  if (!ip) return null;
  // a mapped IPv6 range is written in IPv6 terms; keep it IPv6 unless it is a single address
  const max = ip.version === 4 ? 32 : 128;
  let bits = max;
  if (len !== undefined) {
    if (!/^\d{1,3}$/.test(len)) return null;
    bits = Number(len);
    if (ip.version === 4 && addr.includes(":")) bits -= 96; // ::ffff:10.0.0.0/104 = 10.0.0.0/8
    if (bits < 0 || bits > max) return null;
  }
  const hostMask = (1n << BigInt(max - bits)) - 1n;
  if ((ip.value & hostMask) !== 0n) return null;
  return { ...ip, bits };
}

function formatIp(ip: ParsedIp): string {
  if (ip.version === 4) return [24n, 16n, 8n, 0n].map((s) => String((ip.value >> s) & 0xffn)).join(".");
  const groups = Array.from({ length: 8 }, (_, i) => Number((ip.value >> BigInt((7 - i) * 16)) & 0xffffn));
  // RFC 5952: compress the longest run of two or more zero groups
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

/** The canonical spelling of a CIDR ("10.0.0.0/8", "2001:db8::/32"; single addresses without a length). */
export function formatCidr(c: ParsedCidr): string {
  const max = c.version === 4 ? 32 : 128;
  return c.bits === max ? formatIp(c) : `${formatIp(c)}/${c.bits}`;
}

/** A canonical CIDR, or null when `raw` is not one (e.g. "10.0.0.1/8": host bits set). */
export function normalizeCidr(raw: string): string | null {
  const c = parseCidr(raw);
  return c ? formatCidr(c) : null;
}

export function cidrContains(c: ParsedCidr, ip: ParsedIp): boolean {
  if (c.version !== ip.version) return false;
  const max = c.version === 4 ? 32 : 128;
  const shift = BigInt(max - c.bits);
  return ip.value >> shift === c.value >> shift;
}

/**
 * Whether `address` is inside one of `list`'s ranges. A null list allows everything;
 * an unknown address (null) or an unparseable one is allowed by no list.
 */
export function ipAllowed(address: string | null, list: readonly string[] | null): boolean {
  if (list === null) return true;
  const ip = address ? parseIp(address) : null;
  if (!ip) return false;
  return list.some((entry) => {
    const c = parseCidr(entry);
    return c !== null && cidrContains(c, ip);
  });
}

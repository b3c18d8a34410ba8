import { randomBytes } from "node:crypto";

/** Prefixes make ids self-describing in logs: `tnt_01j…` is a tenant. */
export type IdPrefix =
  | "usr"
  | "tnt"
  | "mem"
  | "key"
  | "mdl"
  | "mgr"
  | "bke"
  | "bgr"
  | "pol"
  | "pov"
  | "req"
  | "rol"
  | "aud"
  | "prc";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lower-case

/**
 * ULID-shaped (48-bit time + 80 random bits), so ids sort by creation time —
 * which keeps cursor pagination and B-tree inserts cheap.
 */
export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(10);
  let rand = "";
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      rand += ALPHABET[(acc >> bits) & 31];
    }
  }
  return `${prefix}_${time}${rand}`;
}

/**
 * What an API key looks like and how it is hashed — pure functions, no I/O.
 *
 *   sk-sy-<43 base62 characters>      (32 random bytes = 256 bits; 62^43 > 2^256)
 *
 * The database keeps HMAC-SHA-256(key) under a server-held key (never the key), and
 * the first KEY_PREFIX_LENGTH characters for display. A keyed hash rather than a
 * plain one: a leaked table cannot even be checked against guesses without the
 * server secret. The key has 256 bits of entropy, so no slow hash is needed.
 */
import { createHmac, randomBytes } from "node:crypto";

export const API_KEY_PREFIX = "sk-sy-";
export const KEY_RANDOM_BYTES = 32;
/** base62 characters needed for KEY_RANDOM_BYTES bytes: ceil(256 / log2(62)) */
export const KEY_BODY_LENGTH = Math.ceil((KEY_RANDOM_BYTES * 8) / Math.log2(62));
export const API_KEY_LENGTH = API_KEY_PREFIX.length + KEY_BODY_LENGTH;
/** characters shown in lists ("sk-sy-" + 6): enough to tell keys apart, far too few to guess the rest */
export const KEY_PREFIX_LENGTH = 12;

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const KEY_PATTERN = new RegExp(`^${API_KEY_PREFIX}[0-9A-Za-z]{${KEY_BODY_LENGTH}}$`);

/** Big-endian base62 of `bytes`, left-padded with "0" to `length` characters. */
export function base62(bytes: Uint8Array, length: number): string {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = "";
  while (n > 0n) {
    out = BASE62[Number(n % 62n)]! + out;
    n /= 62n;
  }
  if (out.length > length) throw new Error(`base62 value needs ${out.length} characters, more than ${length}`);
  return out.padStart(length, "0");
}

/** A fresh key from the platform CSPRNG. */
export function generateApiKey(random: (n: number) => Uint8Array = randomBytes): string {
  return API_KEY_PREFIX + base62(random(KEY_RANDOM_BYTES), KEY_BODY_LENGTH);
}

/** Cheap shape check before any hashing or database work: wrong prefix, length or alphabet → false. */
export function isApiKeyFormat(value: unknown): value is string {
  return typeof value === "string" && value.length === API_KEY_LENGTH && KEY_PATTERN.test(value);
}

/** What lists show. */
export function keyDisplayPrefix(key: string): string {
  return key.slice(0, KEY_PREFIX_LENGTH);
}

/** HMAC-SHA-256 of the key under `hmacKey`, hex: the value stored in ApiKey.hash. */
export function hashApiKey(key: string, hmacKey: Uint8Array): string {
  return createHmac("sha256", hmacKey).update(key, "utf8").digest("hex");
}

/**
 * Purpose-bound keys derived from AUTH_SECRET with HKDF-SHA-256. Each use names
 * its own `info` string, so a value made for one purpose (an API key hash, an
 * access token signature) can never be replayed as another, and AUTH_SECRET itself
 * is never used directly as a key. Changing AUTH_SECRET changes every derived key:
 * existing API keys and access tokens stop verifying.
 */
import { hkdfSync } from "node:crypto";
import { env } from "../env";

export const KEY_INFO = {
  apiKeyHmac: "switchyard/api-key-hmac/v1",
  accessToken: "switchyard/access-token/v1",
  usageExport: "switchyard/usage-export/v1",
  backendCredential: "switchyard/backend-credential/v1",
  signingSecret: "switchyard/signing-secret/v1",
  redaction: "switchyard/redaction-hash/v1",
} as const;
export type KeyPurpose = keyof typeof KEY_INFO;

/** Pure: the 32-byte key for `info` under `secret`. */
export function deriveKey(secret: string, info: string): Buffer {
  return Buffer.from(hkdfSync("sha256", secret, Buffer.alloc(0), info, 32));
}

const cache = new Map<KeyPurpose, Buffer>();

/** The server's key for a purpose (derived once per process). */
export function serverKey(purpose: KeyPurpose): Buffer {
  let key = cache.get(purpose);
  if (!key) {
    key = deriveKey(env().AUTH_SECRET, KEY_INFO[purpose]);
    cache.set(purpose, key);
  }
  return key;
}

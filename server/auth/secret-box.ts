/**
 * Secrets we must be able to read back (a remote backend's API key), encrypted
 * at rest with AES-256-GCM under a key derived from AUTH_SECRET for this purpose
 * only. Format: `v1.<iv>.<tag>.<ciphertext>` (base64url); the version leaves room
 * for key rotation. Changing AUTH_SECRET makes stored credentials unreadable:
 * they must be entered again.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { serverKey } from "./derived-keys";

export function sealWith(key: Buffer, plaintext: string, aad: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return ["v1", iv.toString("base64url"), cipher.getAuthTag().toString("base64url"), ct.toString("base64url")].join(".");
}

/** The plaintext, or null when the value was not sealed by this key for this `aad` (tampered, other secret). */
export function openWith(key: Buffer, sealed: string, aad: string): string | null {
  const [v, iv, tag, ct] = sealed.split(".");
  if (v !== "v1" || !iv || !tag || ct === undefined) return null;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(ct, "base64url")), decipher.final()]).toString("utf8");
  } catch {
    return null;
  }
}

/** `aad` binds the ciphertext to its row (the backend id): a value copied onto another row does not open. */
export const sealCredential = (plaintext: string, aad: string) => sealWith(serverKey("backendCredential"), plaintext, aad);
export const openCredential = (sealed: string, aad: string) => openWith(serverKey("backendCredential"), sealed, aad);

/** An API key's request-signing secret; `aad` binds it to the key (signingSecretAad). */
export const signingSecretAad = (apiKeyId: string) => `api_key_signing:${apiKeyId}`;
export const sealSigningSecret = (plaintext: string, apiKeyId: string) =>
  sealWith(serverKey("signingSecret"), plaintext, signingSecretAad(apiKeyId));
export const openSigningSecret = (sealed: string, apiKeyId: string) =>
  openWith(serverKey("signingSecret"), sealed, signingSecretAad(apiKeyId));

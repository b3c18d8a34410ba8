import bcrypt from "bcryptjs";
import { passwordEnv } from "../env";

/** bcrypt cost; tests lower it through PASSWORD_HASH_COST (validated in server/env.ts: 4–15). */
function cost(): number {
  return passwordEnv().PASSWORD_HASH_COST;
}

export function hashPassword(password: string): Promise<string> {
  return bcrypt.hash(password, cost());
}

// A real hash to compare against when the account does not exist, so a wrong
// email costs the same time as a wrong password (no user enumeration by timing).
let dummyHash: Promise<string> | undefined;

export async function verifyPassword(password: string, hash: string | null | undefined): Promise<boolean> {
  if (!hash) {
    dummyHash ??= bcrypt.hash("switchyard-timing-equaliser", cost());
    await bcrypt.compare(password, await dummyHash);
    return false;
  }
  return bcrypt.compare(password, hash);
}

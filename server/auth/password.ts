import bcrypt from "bcryptjs";

/** bcrypt cost; tests lower it through PASSWORD_HASH_COST (never below bcrypt's minimum of 4). */
function cost(): number {
  const n = Number(process.env.PASSWORD_HASH_COST ?? 12);
  return Number.isInteger(n) && n >= 4 && n <= 15 ? n : 12;
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

/**
 * The tenant role ladder. Client-safe (a type import only): the console hides controls
 * with the same rule every procedure enforces.
 */
import type { Role } from "../db/client";

/** Higher rank can do everything a lower rank can. */
export const ROLE_RANK: Record<Role, number> = { viewer: 0, member: 1, admin: 2, owner: 3 };

export function hasRole(actual: Role, required: Role): boolean {
  return ROLE_RANK[actual] >= ROLE_RANK[required];
}

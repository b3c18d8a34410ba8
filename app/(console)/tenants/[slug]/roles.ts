import type { ROLES } from "@/server/services/members/schemas";

export type Role = (typeof ROLES)[number];
const RANK: Record<Role, number> = { viewer: 0, member: 1, admin: 2, owner: 3 };
/** For showing and hiding controls only; every procedure checks the role itself. */
export const can = (role: Role, needed: Role) => RANK[role] >= RANK[needed];

import { hasRole } from "@/server/auth/roles";
import type { ROLES } from "@/server/services/members/schemas";

export type Role = (typeof ROLES)[number];
/** For showing and hiding controls only; every procedure checks the role itself. */
export const can = (role: Role, needed: Role) => hasRole(role, needed);

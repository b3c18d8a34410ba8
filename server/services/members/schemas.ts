/** Input shapes for memberships — shared by tRPC, the CLI and the console forms (client-safe: zod only). */
import { z } from "zod";
import { Email } from "../users/schemas";

export const ROLES = ["owner", "admin", "member", "viewer"] as const;
export const RoleInput = z.enum(ROLES, { message: `Role must be one of: ${ROLES.join(", ")}` });

export const AddMemberInput = z.object({ email: Email, role: RoleInput });
export type AddMemberInput = z.infer<typeof AddMemberInput>;

export const ChangeRoleInput = z.object({ membershipId: z.string().min(1), role: RoleInput });
export type ChangeRoleInput = z.infer<typeof ChangeRoleInput>;

export const RemoveMemberInput = z.object({ membershipId: z.string().min(1) });
export type RemoveMemberInput = z.infer<typeof RemoveMemberInput>;

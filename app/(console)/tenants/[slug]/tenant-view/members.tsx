"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ROLES } from "@/server/services/members/schemas";
import { Alert, Badge, ConfirmDialog, EmptyState, SkeletonRows, formatDate, useToast } from "../../../../_components/ui";
import { describeError } from "../../../../_lib/errors";
import { useTRPC } from "../../../../_lib/trpc";
import { type Role, can } from "../roles";
import { AddMember } from "./add-member";

/** Who belongs to the tenant; owners add, re-role and remove members. */
export function Members({ tenantId, role }: { tenantId: string; role: Role }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const toast = useToast();
  const members = useQuery(trpc.members.list.queryOptions({ tenantId }));
  const [removing, setRemoving] = useState<{ id: string; email: string } | null>(null);
  const manage = can(role, "owner");
  const refresh = () =>
    Promise.all([
      qc.invalidateQueries({ queryKey: trpc.members.list.queryKey({ tenantId }) }),
      qc.invalidateQueries({ queryKey: trpc.audit.list.queryKey() }),
      qc.invalidateQueries({ queryKey: trpc.tenants.list.queryKey() }),
    ]);
  const changeRole = useMutation(
    trpc.members.changeRole.mutationOptions({
      onSuccess: async (m) => {
        await refresh();
        toast(`${m.user.email} is now ${m.role}`);
      },
      onError: (e) => toast(describeError(e).message, "error"),
    }),
  );
  const remove = useMutation(
    trpc.members.remove.mutationOptions({
      onSuccess: async () => {
        await refresh();
        toast(`${removing?.email} removed`);
        setRemoving(null);
      },
      onError: (e) => {
        toast(describeError(e).message, "error");
        setRemoving(null);
      },
    }),
  );

  return (
    <>
      {manage && <AddMember tenantId={tenantId} onAdded={refresh} />}
      <div className="panel">
        <div className="panel-head">
          <div>
            <h2>Members</h2>
            <p>
              Owners manage members · admins manage keys and models · members use the gateway · viewers only look.
            </p>
          </div>
        </div>
        {members.error ? (
          <div className="panel-body">
            <Alert>{describeError(members.error).message}</Alert>
          </div>
        ) : members.data?.length === 0 ? (
          <EmptyState title="No members yet">{manage ? "Add someone above." : null}</EmptyState>
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th>User</th>
                <th>Role</th>
                <th>Added</th>
                {manage && <th className="actions">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {members.isPending ? (
                <SkeletonRows cols={manage ? 4 : 3} />
              ) : (
                members.data?.map((m) => (
                  <tr key={m.id} data-testid={`member-${m.user.email}`}>
                    <td>
                      <div>{m.user.email}</div>
                      <div className="sub">
                        {m.user.name}
                        {m.user.disabledAt ? " · disabled" : ""}
                      </div>
                    </td>
                    <td>
                      {manage ? (
                        <select
                          className="select select-sm"
                          aria-label={`Role of ${m.user.email}`}
                          value={m.role}
                          disabled={changeRole.isPending}
                          onChange={(e) => changeRole.mutate({ tenantId, membershipId: m.id, role: e.target.value as Role })}
                        >
                          {ROLES.map((r) => (
                            <option key={r} value={r}>
                              {r}
                            </option>
                          ))}
                        </select>
                      ) : (
                        <Badge>{m.role}</Badge>
                      )}
                    </td>
                    <td className="sub">{formatDate(m.createdAt)}</td>
                    {manage && (
                      <td className="actions">
                        <button
                          type="button"
                          className="btn btn-sm btn-danger"
                          onClick={() => setRemoving({ id: m.id, email: m.user.email })}
                        >
                          Remove
                        </button>
                      </td>
                    )}
                  </tr>
                ))
              )}
            </tbody>
          </table>
        )}
      </div>
      <ConfirmDialog
        open={!!removing}
        title="Remove member?"
        description={`${removing?.email ?? ""} loses access to this tenant at once.`}
        confirmLabel="Remove"
        danger
        busy={remove.isPending}
        onConfirm={() => removing && remove.mutate({ tenantId, membershipId: removing.id })}
        onClose={() => setRemoving(null)}
      />
    </>
  );
}

"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { targetKey } from "@/server/services/routing/schemas";
import { Alert, Badge, Dialog, formatDate, useToast } from "../../../../_components/ui";
import { describeError } from "../../../../_lib/errors";
import { useTRPC } from "../../../../_lib/trpc";

/** An alias's versions; admins restore one (which adds a new version). */
export function HistoryDialog({ tenantId, policyId, manage, onClose, onRestored }: { tenantId: string; policyId: string; manage: boolean; onClose: () => void; onRestored: () => Promise<void> }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const toast = useToast();
  const q = useQuery(trpc.routing.get.queryOptions({ tenantId, policyId }));
  const restore = useMutation(
    trpc.routing.restore.mutationOptions({
      onSuccess: async (p) => {
        await qc.invalidateQueries({ queryKey: trpc.routing.get.queryKey({ tenantId, policyId }) });
        await onRestored();
        toast(`Restored as version ${p.version}`);
      },
      onError: (e) => toast(describeError(e).message, "error"),
    }),
  );
  return (
    <Dialog open onClose={onClose} title={q.data ? `History of ${q.data.alias}` : "History"}>
      {q.error && <Alert>{describeError(q.error).message}</Alert>}
      {q.isPending && <div className="skeleton" style={{ height: 120 }} />}
      {q.data && (
        <table className="table">
          <thead>
            <tr>
              <th className="num">Version</th>
              <th>Strategy</th>
              <th>Targets</th>
              <th>When</th>
              {manage && <th className="actions" />}
            </tr>
          </thead>
          <tbody>
            {q.data.versions.map((v) => (
              <tr key={v.version}>
                <td className="num">
                  {v.version} {v.version === q.data.version && <Badge tone="ok">current</Badge>}
                </td>
                <td>{v.snapshot?.strategy ?? "?"}</td>
                <td className="sub mono">{v.snapshot?.targets.map((t) => targetKey(t)).join(", ")}</td>
                <td>{formatDate(v.createdAt)}</td>
                {manage && (
                  <td className="actions">
                    {v.version !== q.data.version && (
                      <button type="button" className="btn btn-sm" disabled={restore.isPending} onClick={() => restore.mutate({ tenantId, policyId, version: v.version })}>
                        Restore
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Dialog>
  );
}

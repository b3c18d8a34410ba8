"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { type PolicyTarget, targetKey } from "@/server/services/routing/schemas";
import { Alert, Badge, ConfirmDialog, EmptyState, SkeletonRows, formatDate, useToast } from "../../../../_components/ui";
import { describeError } from "../../../../_lib/errors";
import { useTRPC } from "../../../../_lib/trpc";
import { type Role, can } from "../roles";
import { AliasDialog } from "./alias-dialog";
import { type AliasFormValues, aliasFormOf, blankAlias } from "./alias-form";
import { DryRun } from "./dry-run";
import { HistoryDialog } from "./history-dialog";
import { noTargets } from "./target-options";

/** The tenant's aliases (routing policies): the list, create/edit/remove, history, and the dry run. */
export function Aliases({ tenantId, role }: { tenantId: string; role: Role }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const toast = useToast();
  const list = useQuery(trpc.routing.list.queryOptions({ tenantId }));
  const targets = useQuery(trpc.routing.targets.queryOptions({ tenantId }));
  const manage = can(role, "admin");
  const [editing, setEditing] = useState<{ policyId: string | null; values: AliasFormValues } | null>(null);
  const [history, setHistory] = useState<string | null>(null);
  const [removing, setRemoving] = useState<{ id: string; alias: string } | null>(null);
  const refresh = () => qc.invalidateQueries({ queryKey: trpc.routing.list.queryKey({ tenantId }) });
  const remove = useMutation(
    trpc.routing.remove.mutationOptions({
      onSuccess: async () => {
        await refresh();
        setRemoving(null);
        toast("Alias removed");
      },
      onError: (e) => toast(describeError(e).message, "error"),
    }),
  );
  const labelOf = (t: PolicyTarget) => {
    if (t.type !== "backend") return targetKey(t);
    const b = targets.data?.backends.find((x) => x.id === t.backendId);
    return `${b?.name ?? t.backendId}/${t.model}`;
  };

  return (
    <>
      <div className="panel">
        <div className="panel-head">
          <div>
            <h2>Aliases</h2>
            <p>Model names callers use; each alias routes to local models or remote backends by a strategy. Every change is a version you can restore.</p>
          </div>
          {manage && (
            <button type="button" className="btn btn-primary" onClick={() => setEditing({ policyId: null, values: blankAlias })}>
              Create alias
            </button>
          )}
        </div>
        {list.error ? (
          <div className="panel-body">
            <Alert>{describeError(list.error).message}</Alert>
          </div>
        ) : (
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th>Alias</th>
                  <th>Strategy</th>
                  <th>Targets</th>
                  <th className="num">Version</th>
                  <th>Updated</th>
                  <th className="actions">Actions</th>
                </tr>
              </thead>
              <tbody>
                {list.isPending && <SkeletonRows cols={6} />}
                {list.data?.map((p) => (
                  <tr key={p.id} data-testid={`alias-${p.alias}`}>
                    <td>
                      <strong className="mono">{p.alias}</strong> {!p.enabled && <Badge tone="warn">disabled</Badge>}
                    </td>
                    <td>
                      <Badge tone="accent">{p.strategy}</Badge>
                      {p.strategy === "difficulty" && (
                        <div className="sub">
                          {Math.round(p.strongShare * 100)} % to strongest
                          {p.calibration ? ` · calibrated on ${p.calibration.samples} requests` : " · not calibrated yet"}
                        </div>
                      )}
                    </td>
                    <td className="sub mono">
                      {p.targets.map((t, i) => (
                        <div key={i}>
                          {i + 1}. {labelOf(t)}
                          {p.strategy === "weighted" ? ` ×${t.weight ?? 1}` : ""}
                        </div>
                      ))}
                    </td>
                    <td className="num">{p.version}</td>
                    <td>{formatDate(p.updatedAt)}</td>
                    <td className="actions">
                      <button type="button" className="btn btn-sm" onClick={() => setHistory(p.id)}>
                        History
                      </button>
                      {manage && (
                        <>
                          {" "}
                          <button
                            type="button"
                            className="btn btn-sm"
                            onClick={() => setEditing({ policyId: p.id, values: aliasFormOf(p) })}
                          >
                            Edit
                          </button>{" "}
                          <button type="button" className="btn btn-sm btn-danger" onClick={() => setRemoving({ id: p.id, alias: p.alias })}>
                            Remove
                          </button>
                        </>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {list.data?.length === 0 && (
              <EmptyState title="No aliases yet">
                <p>Without an alias, callers name a model directly. An alias lets you fall back, balance load, or send hard prompts to a stronger model.</p>
              </EmptyState>
            )}
          </div>
        )}
      </div>
      {can(role, "member") && list.data && list.data.length > 0 && <DryRun tenantId={tenantId} aliases={list.data.map((p) => p.alias)} />}
      {editing && (
        <AliasDialog
          tenantId={tenantId}
          policyId={editing.policyId}
          initial={editing.values}
          options={targets.data ?? noTargets}
          onClose={() => setEditing(null)}
          onSaved={async (alias) => (setEditing(null), await refresh(), toast(`${alias} saved`))}
        />
      )}
      {history && <HistoryDialog tenantId={tenantId} policyId={history} manage={manage} onClose={() => setHistory(null)} onRestored={refresh} />}
      <ConfirmDialog
        open={removing !== null}
        title={`Remove ${removing?.alias ?? ""}?`}
        description="Requests for this name fail with 404 from now on (unless a model has the same name)."
        confirmLabel="Remove alias"
        danger
        busy={remove.isPending}
        onConfirm={() => removing && remove.mutate({ tenantId, policyId: removing.id })}
        onClose={() => setRemoving(null)}
      />
    </>
  );
}

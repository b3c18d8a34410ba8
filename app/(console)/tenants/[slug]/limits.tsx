"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { LimitsPatch, SetTenantLimitsInput } from "@/server/services/limits/schemas";
import { formatAmount, formatMoney } from "@/server/lib/money";
import { TextField } from "../../../_components/form";
import { FormDialog } from "../../../_components/form-dialog";
import { Alert, Badge, EmptyState, SkeletonRows, Stat, useToast } from "../../../_components/ui";
import { describeError } from "../../../_lib/errors";
import { useTRPC } from "../../../_lib/trpc";
import { type Role, can } from "./roles";

const n = new Intl.NumberFormat();
const show = (v: number | null) => (v === null ? "no limit" : n.format(v));
const FIELDS = [
  { key: "rpm", label: "Requests per minute" },
  { key: "tpm", label: "Tokens per minute" },
  { key: "maxConcurrent", label: "Concurrent requests" },
  { key: "monthlyTokenBudget", label: "Monthly token budget" },
] as const;
type LimitKey = (typeof FIELDS)[number]["key"];
/** money budgets: decimal amounts in the server's currency in the form, nano-units in the limits */
const MONEY_FIELDS = [
  { key: "monthlySpendBudget", nano: "monthlySpendBudgetNano", label: "Monthly spend budget" },
  { key: "dailySpendBudget", nano: "dailySpendBudgetNano", label: "Daily spend budget" },
] as const;
type LimitValues = Record<LimitKey | (typeof MONEY_FIELDS)[number]["nano"], number | null>;
const MONEY_KEYS: ReadonlySet<string> = new Set(MONEY_FIELDS.map((f) => f.key));
const money = (v: number | null, currency: string) => (v === null ? "no limit" : formatMoney(BigInt(v), currency));

/**
 * The tenant's quota (set by platform admins) and per-key limits (set by tenant
 * admins), with this month's tokens against the budget. Over a limit, /api/v1
 * answers 429 (budget: code budget_exceeded).
 */
export function Limits({ tenantId, role, platformAdmin }: { tenantId: string; role: Role; platformAdmin: boolean }) {
  const trpc = useTRPC();
  const q = useQuery(trpc.limits.get.queryOptions({ tenantId }));
  const [editing, setEditing] = useState<{ kind: "tenant" } | { kind: "key"; id: string; name: string } | null>(null);
  const v = q.data;
  const budget = v?.tenant.limits.monthlyTokenBudget ?? null;
  const used = v?.tenant.monthTokens ?? 0;
  const share = budget ? Math.min(1, used / budget) : null;
  const warn = v ? v.tenant.effectiveBudgetWarnPercent / 100 : 0.8;
  const spendBudget = v?.tenant.limits.monthlySpendBudgetNano ?? null;
  const spendShare = spendBudget ? Math.min(1, Number(v!.tenant.monthSpendNano) / spendBudget) : null;
  return (
    <>
      {q.error && <Alert>{describeError(q.error).message}</Alert>}
      <div className="panel">
        <div className="panel-head">
          <div>
            <h2>Tenant limits</h2>
            <p>Apply to every key and console request of this tenant. Set by platform admins.</p>
          </div>
          {platformAdmin && (
            <button type="button" className="btn" onClick={() => setEditing({ kind: "tenant" })} disabled={!v}>
              Edit tenant limits
            </button>
          )}
        </div>
        <div className="panel-body">
          <div className="stats">
            {FIELDS.map((f) => (
              <Stat key={f.key} label={f.label} testId={`tenant-limit-${f.key}`} value={v ? show(v.tenant.limits[f.key]) : null} />
            ))}
            {MONEY_FIELDS.map((f) => (
              <Stat key={f.key} label={f.label} testId={`tenant-limit-${f.key}`} value={v ? money(v.tenant.limits[f.nano], v.currency) : null} />
            ))}
          </div>
          {v && (
            <div>
              <div className="sub" data-testid="tenant-spend">
                Spent this month: {formatMoney(v.tenant.monthSpendNano, v.currency)}
                {v.tenant.limits.monthlySpendBudgetNano !== null ? ` of ${money(v.tenant.limits.monthlySpendBudgetNano, v.currency)}` : ""} · today:{" "}
                {formatMoney(v.tenant.daySpendNano, v.currency)}
                {v.tenant.limits.dailySpendBudgetNano !== null ? ` of ${money(v.tenant.limits.dailySpendBudgetNano, v.currency)}` : ""}
              </div>
              {spendShare !== null && (
                <div className="meter" role="meter" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(spendShare * 100)} aria-label="Monthly spend budget used">
                  <div className={`meter-fill${spendShare >= 1 ? " meter-danger" : spendShare >= warn ? " meter-warn" : ""}`} style={{ width: `${spendShare * 100}%` }} />
                </div>
              )}
              <div className="sub">
                This month: {n.format(used)} tokens{budget ? ` of ${n.format(budget)} (warning at ${v.tenant.effectiveBudgetWarnPercent} %)` : ""}
              </div>
              {share !== null && (
                <div className="meter" role="meter" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(share * 100)} aria-label="Monthly budget used">
                  <div className={`meter-fill${share >= 1 ? " meter-danger" : share >= warn ? " meter-warn" : ""}`} style={{ width: `${share * 100}%` }} />
                </div>
              )}
            </div>
          )}
        </div>
      </div>
      <div className="panel">
        <div className="panel-head">
          <div>
            <h2>Key limits</h2>
            <p>Each key may be held to less than the tenant. A request must pass both.</p>
          </div>
        </div>
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th>Key</th>
                {FIELDS.map((f) => (
                  <th key={f.key} className="num">
                    {f.label}
                  </th>
                ))}
                {MONEY_FIELDS.map((f) => (
                  <th key={f.key} className="num">
                    {f.label}
                  </th>
                ))}
                <th className="num">Tokens this month</th>
                <th className="num">Spent this month</th>
                {can(role, "admin") && <th className="actions" />}
              </tr>
            </thead>
            <tbody>
              {q.isPending && <SkeletonRows cols={10} />}
              {v?.keys.map((k) => (
                <tr key={k.id} data-testid={`key-limits-${k.name}`}>
                  <td>
                    {k.name} <span className="sub mono">{k.prefix}…</span> {k.status !== "active" && <Badge tone="warn">{k.status}</Badge>}
                  </td>
                  {FIELDS.map((f) => (
                    <td key={f.key} className="num">
                      {show(k.limits[f.key])}
                    </td>
                  ))}
                  {MONEY_FIELDS.map((f) => (
                    <td key={f.key} className="num">
                      {money(k.limits[f.nano], v.currency)}
                    </td>
                  ))}
                  <td className="num">{n.format(k.monthTokens)}</td>
                  <td className="num">{formatMoney(k.monthSpendNano, v.currency)}</td>
                  {can(role, "admin") && (
                    <td className="actions">
                      {k.status === "active" && (
                        <button type="button" className="btn btn-sm" onClick={() => setEditing({ kind: "key", id: k.id, name: k.name })}>
                          Edit
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
          {v?.keys.length === 0 && <EmptyState title="No API keys yet" />}
        </div>
      </div>
      {editing && v && (
        <LimitsDialog
          tenantId={tenantId}
          target={editing}
          initial={editing.kind === "tenant" ? v.tenant.limits : v.keys.find((k) => k.id === editing.id)!.limits}
          warnPercent={editing.kind === "tenant" ? v.tenant.budgetWarnPercent : undefined}
          onClose={() => setEditing(null)}
        />
      )}
    </>
  );
}

function LimitsDialog({
  tenantId,
  target,
  initial,
  warnPercent,
  onClose,
}: {
  tenantId: string;
  target: { kind: "tenant" } | { kind: "key"; id: string; name: string };
  initial: LimitValues;
  warnPercent?: number | null;
  onClose: () => void;
}) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const toast = useToast();
  const [values, setValues] = useState<Record<string, string>>({
    ...Object.fromEntries(FIELDS.map((f) => [f.key, initial[f.key] === null ? "" : String(initial[f.key])])),
    ...Object.fromEntries(MONEY_FIELDS.map((f) => [f.key, initial[f.nano] === null ? "" : formatAmount(BigInt(initial[f.nano]!))])),
    budgetWarnPercent: warnPercent == null ? "" : String(warnPercent),
  });
  const [serverError, setServerError] = useState<string | null>(null);
  const patch = Object.fromEntries(
    Object.entries(values)
      .filter(([k]) => target.kind === "tenant" || k !== "budgetWarnPercent")
      .map(([k, s]) => [k, s.trim() === "" ? null : MONEY_KEYS.has(k) ? s.trim() : Number(s)]),
  );
  // The server's schema, so the dialog says exactly what the server would.
  const parsed = (target.kind === "tenant" ? SetTenantLimitsInput : LimitsPatch).safeParse(patch);
  const errors: Record<string, string> = {};
  if (!parsed.success) for (const i of parsed.error.issues) errors[String(i.path[0])] ??= i.message;
  const done = async () => {
    await qc.invalidateQueries({ queryKey: trpc.limits.get.queryKey({ tenantId }) });
    toast("Limits saved");
    onClose();
  };
  const onError = (e: unknown) => setServerError(describeError(e).message);
  const setTenant = useMutation(trpc.limits.setTenant.mutationOptions({ onSuccess: done, onError }));
  const setKey = useMutation(trpc.limits.setKey.mutationOptions({ onSuccess: done, onError }));
  const busy = setTenant.isPending || setKey.isPending;
  return (
    <FormDialog
      onClose={onClose}
      title={target.kind === "tenant" ? "Tenant limits" : `Limits of "${target.name}"`}
      description="Leave a field empty for no limit. Spend budgets are amounts in the server's currency (e.g. 50 or 12.50)."
      error={serverError}
      onSubmit={() => {
        if (!parsed.success) return;
        if (target.kind === "tenant") setTenant.mutate({ tenantId, ...(parsed.data as SetTenantLimitsInput) });
        else setKey.mutate({ tenantId, keyId: target.id, ...(parsed.data as LimitsPatch) });
      }}
      submitLabel="Save limits"
      busy={busy}
      disabled={!parsed.success}
    >
      <div className="row">
        {[...FIELDS, ...MONEY_FIELDS, ...(target.kind === "tenant" ? [{ key: "budgetWarnPercent", label: "Budget warning at (%)" } as const] : [])].map((f) => (
          <TextField
            key={f.key}
            label={f.label}
            id={`limit-${f.key}`}
            error={errors[f.key]}
            inputMode={MONEY_KEYS.has(f.key) ? "decimal" : "numeric"}
            placeholder={f.key === "budgetWarnPercent" ? "80" : "no limit"}
            value={values[f.key] ?? ""}
            onChange={(value) => setValues((cur) => ({ ...cur, [f.key]: value }))}
          />
        ))}
      </div>
    </FormDialog>
  );
}

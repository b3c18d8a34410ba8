"use client";
import { DENIAL_CODES } from "@/server/auth/principal";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { formatMoney } from "@/server/lib/money";
import { UsageFilter } from "@/server/services/usage/schemas";
import { Field, FormFooter } from "../../../_components/form";
import { Alert, Badge, Dialog, EmptyState, SkeletonRows, formatDate, useToast } from "../../../_components/ui";
import { useBasePath } from "../../../_lib/base-path";
import { describeError } from "../../../_lib/errors";
import { useTRPC } from "../../../_lib/trpc";
import { Conversation } from "./logging";

interface FilterForm {
  from: string;
  to: string;
  apiKeyId: string;
  model: string;
  status: string;
  requestId: string;
}
const EMPTY: FilterForm = { from: "", to: "", apiKeyId: "", model: "", status: "", requestId: "" };

/** The form's strings as the server's filter (same zod schema), or the first problem. */
function toFilter(f: FilterForm): { filter: UsageFilter } | { error: string; field: string } {
  const raw = Object.fromEntries(Object.entries(f).filter(([, v]) => v !== "")) as Record<string, string>;
  const parsed = UsageFilter.safeParse({
    ...raw,
    from: raw.from ? new Date(raw.from) : undefined,
    to: raw.to ? new Date(raw.to) : undefined,
  });
  if (parsed.success) return { filter: parsed.data };
  const issue = parsed.error.issues[0]!;
  return { error: issue.message, field: String(issue.path[0] ?? "") };
}

const statusTone = (s: string) => (s === "ok" ? "ok" : s === "error" ? "danger" : "warn");

export function UsageLog({ tenantId }: { tenantId: string }) {
  const basePath = useBasePath();
  const trpc = useTRPC();
  const qc = useQueryClient();
  const toast = useToast();
  const keys = useQuery(trpc.apiKeys.list.queryOptions({ tenantId }));
  const [form, setForm] = useState<FilterForm>(EMPTY);
  const [applied, setApplied] = useState<UsageFilter>({});
  const [formError, setFormError] = useState<{ error: string; field: string } | null>(null);
  // Cursors of the pages before the current one, for "Newer".
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const page = useQuery(trpc.usage.list.queryOptions({ tenantId, filter: applied, cursor, limit: 50 }));
  const [detail, setDetail] = useState<string | null>(null);

  const exportCsv = useMutation(
    trpc.usage.exportCsv.mutationOptions({
      onSuccess: ({ token }) => {
        // A plain navigation to an attachment: the browser streams it to disk.
        const a = document.createElement("a");
        a.href = `${basePath}/api/usage/export?token=${encodeURIComponent(token)}`;
        a.download = "";
        document.body.append(a);
        a.click();
        a.remove();
      },
      onError: (e) => toast(describeError(e).message, "error"),
    }),
  );

  const set = (k: keyof FilterForm) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => {
    const next = { ...form, [k]: e.target.value };
    setForm(next);
    const r = toFilter(next);
    setFormError("error" in r ? r : null);
  };
  const apply = (e: React.FormEvent) => {
    e.preventDefault();
    const r = toFilter(form);
    if ("error" in r) return setFormError(r);
    setFormError(null);
    setApplied(r.filter);
    setCursors([undefined]);
    // Apply also means "look again": the same filter must show rows written since.
    void qc.invalidateQueries({ queryKey: trpc.usage.list.queryKey() });
  };
  const keyName = new Map(keys.data?.map((k) => [k.id, k.name]));
  const errFor = (field: string) => (formError?.field === field ? formError.error : undefined);

  return (
    <div className="panel">
      <div className="panel-head">
        <div>
          <h2>Usage log</h2>
          <p>Every request to {"/api/v1"} — succeeded, failed or cancelled — newest first.</p>
        </div>
        <button type="button" className="btn" disabled={exportCsv.isPending} onClick={() => exportCsv.mutate({ tenantId, filter: applied })}>
          {exportCsv.isPending ? "Preparing…" : "Export CSV"}
        </button>
      </div>
      <form className="panel-body filters" onSubmit={apply} noValidate aria-label="Filters">
        <Field label="From" id="f-from" error={errFor("from")}>
          <input id="f-from" type="datetime-local" className="input" value={form.from} onChange={set("from")} />
        </Field>
        <Field label="To" id="f-to" error={errFor("to")}>
          <input id="f-to" type="datetime-local" className="input" value={form.to} onChange={set("to")} />
        </Field>
        <Field label="Key" id="f-key">
          <select id="f-key" className="select" value={form.apiKeyId} onChange={set("apiKeyId")}>
            <option value="">Any key</option>
            {keys.data?.map((k) => (
              <option key={k.id} value={k.id}>
                {k.name} ({k.prefix}…)
              </option>
            ))}
          </select>
        </Field>
        <Field label="Model" id="f-model" error={errFor("model")}>
          <input id="f-model" className="input" value={form.model} onChange={set("model")} placeholder="any" />
        </Field>
        <Field label="Status" id="f-status">
          <select id="f-status" className="select" value={form.status} onChange={set("status")}>
            <option value="">Any status</option>
            <option value="ok">ok</option>
            <option value="error">error</option>
            <option value="cancelled">cancelled</option>
          </select>
        </Field>
        <Field label="Request id" id="f-request" error={errFor("requestId")}>
          <input id="f-request" className="input mono" value={form.requestId} onChange={set("requestId")} placeholder="starts with…" />
        </Field>
        <div className="filters-actions">
          <button type="submit" className="btn btn-primary">
            Apply
          </button>
          <button
            type="button"
            className="btn btn-ghost"
            onClick={() => {
              setForm(EMPTY);
              setFormError(null);
              setApplied({});
              setCursors([undefined]);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      {page.error && (
        <div className="panel-body">
          <Alert>{describeError(page.error).message}</Alert>
        </div>
      )}
      <div className="table-wrap">
        <table className="table" data-testid="usage-table">
          <thead>
            <tr>
              <th>Time</th>
              <th>Request</th>
              <th>Model</th>
              <th>Key</th>
              <th>Status</th>
              <th className="num">Tokens in / out</th>
              <th className="num">Latency</th>
              <th className="num">Cost</th>
            </tr>
          </thead>
          <tbody>
            {page.isPending && <SkeletonRows rows={5} cols={8} />}
            {page.data?.items.map((r) => (
              <tr key={r.id} className="clickable" data-testid={`usage-row-${r.requestId}`}>
                <td className="sub">{formatDate(r.createdAt)}</td>
                <td>
                  <button type="button" className="link mono" onClick={() => setDetail(r.id)}>
                    {r.requestId.length > 18 ? `${r.requestId.slice(0, 18)}…` : r.requestId}
                  </button>
                  <div className="sub">{r.endpoint}{r.stream ? " · stream" : ""}</div>
                </td>
                <td>{r.modelRequested}</td>
                <td className="sub">{r.apiKeyId ? (keyName.get(r.apiKeyId) ?? r.apiKeyId) : "console"}</td>
                <td>
                  <Badge tone={statusTone(r.status)}>{r.status === "ok" ? r.httpStatus : `${r.status} · ${r.httpStatus}`}</Badge>
                  {r.errorCode && (
                    <div className="sub" data-testid="error-code">
                      {DENIAL_CODES.includes(r.errorCode) ? `denied: ${r.errorCode}` : r.errorCode}
                    </div>
                  )}
                </td>
                <td className="num">
                  {r.promptTokens} / {r.completionTokens}
                </td>
                <td className="num">{r.latencyMs} ms</td>
                <td className="num" data-testid="usage-cost">
                  {r.costNano === null ? <Badge tone="warn">unpriced</Badge> : formatMoney(r.costNano, page.data.currency, 2)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {page.data?.items.length === 0 && (
          <EmptyState title="No requests match">
            <p>Requests to {"/api/v1"} appear here a moment after they finish.</p>
          </EmptyState>
        )}
      </div>
      <div className="pager">
        <button type="button" className="btn btn-sm" disabled={cursors.length < 2} onClick={() => setCursors((c) => c.slice(0, -1))}>
          ← Newer
        </button>
        <span className="sub">Page {cursors.length}</span>
        <button
          type="button"
          className="btn btn-sm"
          disabled={!page.data?.nextCursor}
          onClick={() => page.data?.nextCursor && setCursors((c) => [...c, page.data!.nextCursor!])}
        >
          Older →
        </button>
      </div>
      <RowDetail tenantId={tenantId} id={detail} onClose={() => setDetail(null)} />
    </div>
  );
}

/** The fallback attempts of a routed request, as stored by /api/v1 (JSON), in the order they were made. */
function describeAttempts(json: string | null): string {
  if (!json) return "—";
  try {
    const list = JSON.parse(json) as { target?: string; ok?: boolean; error?: string }[];
    return list.map((a) => `${a.target ?? "?"} ${a.ok ? "✓" : `✗ ${a.error ?? ""}`}`).join(" → ");
  } catch {
    return json;
  }
}

function RowDetail({ tenantId, id, onClose }: { tenantId: string; id: string | null; onClose: () => void }) {
  const trpc = useTRPC();
  const q = useQuery({ ...trpc.usage.get.queryOptions({ tenantId, id: id ?? "" }), enabled: id !== null });
  const r = q.data;
  const rows: [string, React.ReactNode][] = r
    ? [
        ["Request id", <span className="mono" key="x">{r.requestId}</span>],
        ["Time", formatDate(r.createdAt)],
        ["Endpoint", r.endpoint],
        ["Stream", r.stream ? "yes" : "no"],
        ["Model asked", r.modelRequested],
        ["Model used", r.modelUsed ?? "—"],
        ["Route", r.routeReason ?? "—"],
        ["Attempts", describeAttempts(r.attempts)],
        ["Key", r.apiKey ? `${r.apiKey.name} (${r.apiKey.prefix}…)` : r.userId ? "console (signed-in user)" : "—"],
        ["Status", `${r.status} · HTTP ${r.httpStatus}`],
        ["Error", r.errorCode ? `${r.errorCode}: ${r.errorMessage ?? ""}` : "—"],
        ["Tokens", `${r.promptTokens} in, ${r.completionTokens} out`],
        ["Prompt cache", r.cachedTokens ? `${r.cachedTokens} of ${r.promptTokens} prompt tokens cached` : "—"],
        ["Tools", r.toolsOffered || r.toolCalls ? `${r.toolsOffered} offered, ${r.toolCalls} call${r.toolCalls === 1 ? "" : "s"} in the answer` : "—"],
        ["Time to first token", r.ttftMs === null ? "—" : `${r.ttftMs} ms`],
        ["Latency", `${r.latencyMs} ms`],
        [
          "Cost",
          r.costNano === null ? (
            <span key="c">
              <Badge tone="warn">unpriced</Badge> <span className="sub">no price for {r.modelUsed}; a platform admin can set one under Prices</span>
            </span>
          ) : (
            <span key="c" data-testid="detail-cost">
              {formatMoney(r.costNano, r.currency, 2)}
            </span>
          ),
        ],
        [
          "Price",
          r.price
            ? `${r.price.input} in${r.price.cachedInput ? ` / ${r.price.cachedInput} cached` : ""} / ${r.price.output} out per M tokens${r.price.perRequest !== "0.00" ? ` + ${r.price.perRequest} per request` : ""}${r.price.perBackend ? " (this backend's price)" : ""}, from ${formatDate(r.price.effectiveFrom)}`
            : r.costNano === null
              ? "—"
              : r.modelUsed
                ? "local default (LOCAL_PRICE_PER_MTOK) or nothing to bill"
                : "—",
        ],
      ]
    : [];
  return (
    <Dialog open={id !== null} onClose={onClose} title="Request">
      {q.error && <Alert>{describeError(q.error).message}</Alert>}
      {q.isPending && <div className="skeleton" style={{ height: 120 }} />}
      {r && (
        <dl className="details">
          {rows.map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
        </dl>
      )}
      {r && (
        <section>
          <h3>Conversation</h3>
          <Conversation tenantId={tenantId} id={r.id} />
        </section>
      )}
      <FormFooter onCancel={onClose} cancelLabel="Close" />
    </Dialog>
  );
}

"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { formatMoney } from "@/server/lib/money";
import { SetPriceInput } from "@/server/services/pricing/schemas";
import { OVERVIEW_RANGES, type OverviewRange } from "@/server/services/usage/schemas";
import { Field, FormFooter, TextField } from "../../_components/form";
import { FormDialog } from "../../_components/form-dialog";
import { RangePicker } from "../../_components/range-picker";
import { TopTable } from "../../_components/top-table";
import { Alert, Badge, Dialog, EmptyState, SkeletonRows, formatDate, useToast } from "../../_components/ui";
import { describeError } from "../../_lib/errors";
import { useTRPC } from "../../_lib/trpc";
import { TopBar } from "../shell";

const n = new Intl.NumberFormat();

/**
 * Platform admins: the price list (versions by effective date; a change adds a version,
 * history is never rewritten), the shipped seed list, and spend across tenants.
 */
export function PricesView() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const toast = useToast();
  const prices = useQuery(trpc.pricing.list.queryOptions());
  const [range, setRange] = useState<OverviewRange>("30d");
  const spend = useQuery(trpc.pricing.platformSpend.queryOptions({ range }));
  const [editing, setEditing] = useState<{ model: string; backendId: string | null; input: string; cachedInput: string | null; output: string; perRequest: string } | null>(null);
  const [history, setHistory] = useState<{ model: string; backendId: string | null } | null>(null);
  const seed = useMutation(
    trpc.pricing.importSeed.mutationOptions({
      onSuccess: async (r) => {
        await qc.invalidateQueries({ queryKey: trpc.pricing.list.queryKey() });
        toast(`Priced ${r.added.length} models from the seed list; ${r.skipped.length} kept their price`);
      },
      onError: (e) => toast(describeError(e).message, "error"),
    }),
  );
  const currency = prices.data?.currency ?? "USD";
  return (
    <>
      <TopBar crumbs={[{ label: "Prices" }]} />
      <div className="content">
        <div className="page-head">
          <div>
            <h1>Prices and spend</h1>
            <p>
              Per million tokens, in {currency}. Every request is costed when it is logged with the price in force when it started; a model
              with no price is <strong>unpriced</strong> (shown as such, never as 0). Local models without a price cost LOCAL_PRICE_PER_MTOK (default 0).
            </p>
          </div>
          <div style={{ display: "flex", gap: 8 }}>
            <button type="button" className="btn" disabled={seed.isPending} onClick={() => seed.mutate({})}>
              {seed.isPending ? "Importing…" : "Import seed list"}
            </button>
            <button
              type="button"
              className="btn btn-primary"
              onClick={() => setEditing({ model: "", backendId: null, input: "", cachedInput: null, output: "", perRequest: "0" })}
            >
              Set a price
            </button>
          </div>
        </div>
        {prices.error && <Alert>{describeError(prices.error).message}</Alert>}
        <div className="panel">
          <div className="panel-head">
            <h2>Prices in force</h2>
          </div>
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th>Model</th>
                  <th>Backend</th>
                  <th className="num">Input / M</th>
                  <th className="num">Cached input / M</th>
                  <th className="num">Output / M</th>
                  <th className="num">Per request</th>
                  <th>Since</th>
                  <th className="actions">Actions</th>
                </tr>
              </thead>
              <tbody>
                {prices.isPending && <SkeletonRows cols={8} />}
                {prices.data?.current.map((p) => (
                  <tr key={p.id} data-testid={`price-${p.model}`}>
                    <td>
                      {p.model} {p.source === "seed" && <Badge>seed</Badge>}
                    </td>
                    <td className="sub">{p.backendName ?? (p.backendId ? p.backendId : "any")}</td>
                    <td className="num">{p.input}</td>
                    <td className="num">{p.cachedInput ?? <span className="sub">= input</span>}</td>
                    <td className="num">{p.output}</td>
                    <td className="num">{p.perRequest}</td>
                    <td className="sub">{formatDate(p.effectiveFrom)}</td>
                    <td className="actions">
                      <button type="button" className="btn btn-sm" onClick={() => setEditing(p)}>
                        Change
                      </button>{" "}
                      <button type="button" className="btn btn-sm" onClick={() => setHistory({ model: p.model, backendId: p.backendId })}>
                        History
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {prices.data?.current.length === 0 && (
              <EmptyState title="No prices yet">
                <p>Every remote request is unpriced until its model has a price. Import the shipped seed list or set one.</p>
              </EmptyState>
            )}
          </div>
          {prices.data && prices.data.scheduled.length > 0 && (
            <div className="panel-body sub">
              Scheduled: {prices.data.scheduled.map((p) => `${p.model} ${p.input}/${p.output} from ${formatDate(p.effectiveFrom)}`).join("; ")}
            </div>
          )}
        </div>
        <div className="panel" data-testid="platform-spend">
          <div className="panel-head">
            <h2>Spend across tenants</h2>
            <RangePicker ranges={OVERVIEW_RANGES} value={range} onChange={setRange} />
          </div>
          {spend.error && <Alert>{describeError(spend.error).message}</Alert>}
          {spend.data && (
            <div className="panel-body">
              Total: <strong>{formatMoney(spend.data.totalCostNano, spend.data.currency)}</strong>
              {spend.data.unpriced > 0 && <> + {n.format(spend.data.unpriced)} unpriced requests</>}
            </div>
          )}
          <TopTable
            pending={spend.isPending}
            rows={spend.data?.tenants}
            rowKey={(t) => t.tenantId}
            columns={[
              {
                header: "Tenant",
                cell: (t) => (
                  <>
                    {t.name} <span className="sub mono">{t.slug}</span>
                  </>
                ),
              },
              { header: "Requests", num: true, cell: (t) => n.format(t.requests) },
              { header: "Tokens", num: true, cell: (t) => n.format(t.tokens) },
              { header: "Spend", num: true, cell: (t) => formatMoney(t.costNano, spend.data?.currency ?? currency) },
              { header: "Unpriced", num: true, cell: (t) => (t.unpriced ? <Badge tone="warn">{n.format(t.unpriced)}</Badge> : "0") },
            ]}
          />
        </div>
      </div>
      {editing && <PriceDialog initial={editing} currency={currency} onClose={() => setEditing(null)} />}
      {history && <HistoryDialog target={history} onClose={() => setHistory(null)} />}
    </>
  );
}

function PriceDialog({
  initial,
  currency,
  onClose,
}: {
  initial: { model: string; backendId: string | null; input: string; cachedInput: string | null; output: string; perRequest: string };
  currency: string;
  onClose: () => void;
}) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const toast = useToast();
  const backends = useQuery(trpc.backends.list.queryOptions());
  const [v, setV] = useState({
    model: initial.model,
    backendId: initial.backendId ?? "",
    input: initial.input,
    cachedInput: initial.cachedInput ?? "",
    output: initial.output,
    perRequest: initial.perRequest,
    effectiveFrom: "",
  });
  const [serverError, setServerError] = useState<string | null>(null);
  const input = {
    model: v.model,
    backendId: v.backendId || null,
    input: v.input,
    cachedInput: v.cachedInput.trim() ? v.cachedInput : null,
    output: v.output,
    perRequest: v.perRequest.trim() ? v.perRequest : undefined,
    effectiveFrom: v.effectiveFrom ? new Date(v.effectiveFrom) : undefined,
  };
  const parsed = SetPriceInput.safeParse(input);
  const errors: Record<string, string> = {};
  if (!parsed.success) for (const i of parsed.error.issues) errors[String(i.path[0])] ??= i.message;
  const save = useMutation(
    trpc.pricing.set.mutationOptions({
      onSuccess: async (p) => {
        await qc.invalidateQueries({ queryKey: trpc.pricing.list.queryKey() });
        toast(`Price of ${p.model} saved`);
        onClose();
      },
      onError: (e) => setServerError(describeError(e).message),
    }),
  );
  const text = (key: keyof typeof v, label: string, placeholder = "") => (
    <TextField
      key={key}
      label={label}
      id={`price-${key}`}
      error={errors[key]}
      inputMode={key === "model" ? undefined : "decimal"}
      placeholder={placeholder}
      value={v[key]}
      onChange={(value) => setV((cur) => ({ ...cur, [key]: value }))}
    />
  );
  return (
    <FormDialog
      onClose={onClose}
      title="Set a price"
      description={`Per million tokens, in ${currency}. Saving adds a version; rows already costed keep their cost.`}
      error={serverError}
      onSubmit={() => {
        if (parsed.success) save.mutate(input);
      }}
      submitLabel="Save price"
      busy={save.isPending}
      disabled={!parsed.success}
    >
      {text("model", "Model (a local model's name, or the upstream model id)", "gpt-4o-mini")}
      <Field label="Backend" id="price-backend">
        <select id="price-backend" className="select" value={v.backendId} onChange={(e) => setV((cur) => ({ ...cur, backendId: e.target.value }))}>
          <option value="">Any backend (and local)</option>
          {backends.data?.map((b) => (
            <option key={b.id} value={b.id}>
              {b.name}
            </option>
          ))}
        </select>
      </Field>
      <div className="row">
        {text("input", "Input / M tokens", "0.15")}
        {text("cachedInput", "Cached input / M", "= input")}
        {text("output", "Output / M tokens", "0.60")}
        {text("perRequest", "Per request", "0")}
      </div>
      <TextField
        label="Takes effect (empty = now)"
        id="price-effectiveFrom"
        type="datetime-local"
        error={errors.effectiveFrom}
        value={v.effectiveFrom}
        onChange={(value) => setV((cur) => ({ ...cur, effectiveFrom: value }))}
      />
    </FormDialog>
  );
}

function HistoryDialog({ target, onClose }: { target: { model: string; backendId: string | null }; onClose: () => void }) {
  const trpc = useTRPC();
  const q = useQuery(trpc.pricing.history.queryOptions(target));
  return (
    <Dialog open onClose={onClose} title={`Price history of ${target.model}`}>
      {q.error && <Alert>{describeError(q.error).message}</Alert>}
      <table className="table">
        <thead>
          <tr>
            <th>From</th>
            <th className="num">Input</th>
            <th className="num">Cached</th>
            <th className="num">Output</th>
            <th className="num">Per request</th>
            <th>Source</th>
          </tr>
        </thead>
        <tbody>
          {q.isPending && <SkeletonRows cols={6} />}
          {q.data?.map((p) => (
            <tr key={p.id}>
              <td className="sub">{formatDate(p.effectiveFrom)}</td>
              <td className="num">{p.input}</td>
              <td className="num">{p.cachedInput ?? "="}</td>
              <td className="num">{p.output}</td>
              <td className="num">{p.perRequest}</td>
              <td className="sub">{p.source}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <FormFooter onCancel={onClose} cancelLabel="Close" />
    </Dialog>
  );
}

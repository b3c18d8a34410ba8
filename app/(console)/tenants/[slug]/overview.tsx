"use client";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Area, AreaChart, Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { formatMoney } from "@/server/lib/money";
import { OVERVIEW_RANGES, type OverviewRange } from "@/server/services/usage/schemas";
import { RangePicker } from "../../../_components/range-picker";
import { TopTable } from "../../../_components/top-table";
import { Alert, EmptyState, Stat } from "../../../_components/ui";
import { describeError } from "../../../_lib/errors";
import { useTRPC } from "../../../_lib/trpc";

const n = new Intl.NumberFormat();
const pct = (v: number | null) => (v === null ? "—" : `${(v * 100).toFixed(v < 0.01 && v > 0 ? 2 : 1)}%`);
const ms = (v: number | null) => (v === null ? "—" : v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${v} ms`);

function tick(iso: string, bucketHours: number) {
  const d = new Date(iso);
  return bucketHours < 24
    ? d.toLocaleString(undefined, bucketHours === 1 ? { hour: "2-digit", minute: "2-digit" } : { weekday: "short", hour: "2-digit" })
    : d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

export function Overview({ tenantId }: { tenantId: string }) {
  const trpc = useTRPC();
  const [range, setRange] = useState<OverviewRange>("24h");
  const q = useQuery({ ...trpc.usage.overview.queryOptions({ tenantId, range }), refetchInterval: 15_000 });
  const o = q.data;
  const cards = [
    { label: "Requests", value: o ? n.format(o.totals.requests) : null, testId: "stat-requests" },
    { label: "Tokens", value: o ? n.format(o.totals.tokens) : null, testId: "stat-tokens" },
    {
      label: "Spend",
      // unpriced requests are not in the sum: say so next to it, never fold them in as 0
      value: o ? `${formatMoney(o.totals.costNano, o.currency)}${o.totals.unpriced ? ` + ${n.format(o.totals.unpriced)} unpriced` : ""}` : null,
      testId: "stat-spend",
    },
    {
      label: "Prompt cache",
      value: o ? (o.totals.cachedShare === null ? "—" : `${pct(o.totals.cachedShare)} (${n.format(o.totals.cachedTokens)})`) : null,
      testId: "stat-prompt-cache",
    },
    { label: "Error rate", value: o ? pct(o.totals.errorRate) : null, testId: "stat-error-rate" },
    { label: "p50 latency", value: o ? ms(o.totals.p50LatencyMs) : null, testId: "stat-p50" },
    { label: "p95 latency", value: o ? ms(o.totals.p95LatencyMs) : null, testId: "stat-p95" },
  ];
  const series = o?.series.map((p) => ({ ...p, label: tick(p.t, o.bucketHours), ok: p.requests - p.errors }));
  return (
    <>
      <div className="toolbar">
        <RangePicker ranges={OVERVIEW_RANGES} value={range} onChange={setRange} />
        <span className="sub">{q.isFetching ? "Updating…" : "From hourly rollups; refreshes every 15 s"}</span>
      </div>
      {q.error && <Alert>{describeError(q.error).message}</Alert>}
      <div className="stats">
        {cards.map((c) => (
          <Stat key={c.label} label={c.label} value={c.value} testId={c.testId} />
        ))}
      </div>
      <div className="grid-2">
        <div className="panel">
          <div className="panel-head">
            <h2>Requests</h2>
          </div>
          <div className="panel-body chart">
            {series && (
              <ResponsiveContainer width="100%" height={240}>
                <AreaChart data={series} margin={{ top: 4, right: 8, left: 0, bottom: 0 }}>
                  <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
                  <XAxis dataKey="label" tick={{ fontSize: 11 }} minTickGap={24} />
                  <YAxis allowDecimals={false} tick={{ fontSize: 11 }} width={44} />
                  <Tooltip />
                  <Legend />
                  <Area type="monotone" dataKey="ok" name="succeeded" stackId="1" stroke="#4f46e5" fill="#c7d2fe" isAnimationActive={false} />
                  <Area type="monotone" dataKey="errors" name="errors" stackId="1" stroke="#dc2626" fill="#fecaca" isAnimationActive={false} />
                </AreaChart>
              </ResponsiveContainer>
            )}
          </div>
        </div>
        <div className="panel">
          <div className="panel-head">
            <h2>Tokens</h2>
          </div>
          <div className="panel-body chart">
            {series && (
              <ResponsiveContainer width="100%" height={240}>
                <BarChart data={series} margin={{ top: 4, right: 8, left: 0, bottom: 0 }}>
                  <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
                  <XAxis dataKey="label" tick={{ fontSize: 11 }} minTickGap={24} />
                  <YAxis allowDecimals={false} tick={{ fontSize: 11 }} width={56} />
                  <Tooltip />
                  <Bar dataKey="tokens" name="tokens" fill="#6366f1" isAnimationActive={false} />
                </BarChart>
              </ResponsiveContainer>
            )}
          </div>
        </div>
      </div>
      <div className="grid-2">
        <div className="panel">
          <div className="panel-head">
            <h2>Spend by day ({o?.currency ?? "USD"})</h2>
          </div>
          <div className="panel-body chart">
            {o && o.spendByDay.length === 0 && <EmptyState title="No spend in this period" />}
            {o && o.spendByDay.length > 0 && (
              <ResponsiveContainer width="100%" height={240}>
                <BarChart data={o.spendByDay.map((d) => ({ label: d.day.slice(5), cost: Number(d.costNano) / 1e9 }))} margin={{ top: 4, right: 8, left: 0, bottom: 0 }}>
                  <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
                  <XAxis dataKey="label" tick={{ fontSize: 11 }} />
                  <YAxis tick={{ fontSize: 11 }} width={56} />
                  <Tooltip />
                  <Bar dataKey="cost" name={`spend (${o.currency})`} fill="#059669" isAnimationActive={false} />
                </BarChart>
              </ResponsiveContainer>
            )}
          </div>
        </div>
        <TrafficPanel
          title="Spend by model"
          testId="spend-by-model"
          currency={o?.currency}
          rows={o?.spendByModel.map((m) => ({ ...m, id: m.model, name: m.model, sub: null }))}
        />
      </div>
      <div className="grid-2">
        <TrafficPanel
          title="Top spenders (keys)"
          testId="spend-by-key"
          currency={o?.currency}
          rows={o?.spendByKey.map((k) => ({ ...k, id: k.apiKeyId ?? "console", sub: k.prefix ? `${k.prefix}…` : null }))}
        />
        <div />
      </div>
      <div className="grid-2">
        <TrafficPanel
          title="Top keys"
          testId="top-keys"
          rows={o?.topKeys.map((k) => ({ ...k, id: k.apiKeyId ?? "console", sub: k.prefix ? `${k.prefix}…` : null }))}
        />
        <TrafficPanel title="Top models" testId="top-models" rows={o?.topModels.map((m) => ({ ...m, id: m.model, name: m.model, sub: null }))} />
      </div>
    </>
  );
}

interface TrafficRow {
  id: string;
  name: string;
  sub: string | null;
  requests: number;
  errors: number;
  tokens: number;
  costNano: bigint;
  unpriced: number;
}

/** A panel with one "top N" table of traffic and its cost (unpriced requests said as such, never as 0). */
function TrafficPanel({ title, rows, currency, testId }: { title: string; rows?: TrafficRow[]; currency?: string; testId?: string }) {
  return (
    <div className="panel" data-testid={testId}>
      <div className="panel-head">
        <h2>{title}</h2>
      </div>
      <TopTable
        rows={rows}
        rowKey={(r) => r.id}
        columns={[
          {
            header: "Name",
            cell: (r) => (
              <>
                {r.name}
                {r.sub && <div className="sub mono">{r.sub}</div>}
              </>
            ),
          },
          { header: "Requests", num: true, cell: (r) => n.format(r.requests) },
          { header: "Errors", num: true, cell: (r) => n.format(r.errors) },
          { header: "Tokens", num: true, cell: (r) => n.format(r.tokens) },
          {
            header: "Cost",
            num: true,
            cell: (r) => (
              <>
                {r.unpriced > 0 && r.costNano === 0n ? "unpriced" : formatMoney(r.costNano, currency ?? "USD")}
                {r.unpriced > 0 && r.costNano > 0n && <div className="sub">+ {n.format(r.unpriced)} unpriced</div>}
              </>
            ),
          },
        ]}
      />
    </div>
  );
}

"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { CreatePolicyInput, type PolicyTarget, STRATEGIES, type StrategyName, UpdatePolicyInput, targetKey } from "@/server/services/routing/schemas";
import { Field } from "../../../_components/form";
import { Alert, Badge, ConfirmDialog, Dialog, EmptyState, SkeletonRows, formatDate, useToast } from "../../../_components/ui";
import { describeError } from "../../../_lib/errors";
import { useTRPC } from "../../../_lib/trpc";
import { type Role, can } from "./roles";

const STRATEGY_HELP: Record<StrategyName, string> = {
  single: "One target.",
  fallback: "Try targets in order; the next one only if the previous fails before its first token.",
  weighted: "Pick at random by weight; the others are fallbacks.",
  least_busy: "The target with the fewest requests in flight on this server.",
  difficulty: "Tiers from weakest to strongest; each conversation is scored and thresholds are calibrated so the chosen share reaches the strongest tier.",
};

/** A target as the <select> value: its key, which is also how the router and the usage log name it. */
function parseKey(key: string): PolicyTarget | null {
  const i = key.indexOf(":");
  const kind = key.slice(0, i);
  const rest = key.slice(i + 1);
  if (kind === "model") return { type: "model", model: rest };
  if (kind === "alias") return { type: "alias", alias: rest };
  if (kind === "backend") {
    const slash = rest.indexOf("/");
    return { type: "backend", backendId: rest.slice(0, slash), model: rest.slice(slash + 1) };
  }
  return null;
}

interface Draft {
  policyId: string | null;
  alias: string;
  strategy: StrategyName;
  strongShare: number;
  embeddingModel: string | null;
  affinity: "none" | "session";
  enabled: boolean;
  targets: { key: string; weight: number | undefined }[];
}

const blank: Draft = { policyId: null, alias: "", strategy: "fallback", strongShare: 0.2, embeddingModel: null, affinity: "none", enabled: true, targets: [{ key: "", weight: undefined }] };

export function Aliases({ tenantId, role }: { tenantId: string; role: Role }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const toast = useToast();
  const list = useQuery(trpc.routing.list.queryOptions({ tenantId }));
  const targets = useQuery(trpc.routing.targets.queryOptions({ tenantId }));
  const manage = can(role, "admin");
  const [editing, setEditing] = useState<Draft | null>(null);
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
            <button type="button" className="btn btn-primary" onClick={() => setEditing(blank)}>
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
                            onClick={() =>
                              setEditing({
                                policyId: p.id,
                                alias: p.alias,
                                strategy: p.strategy,
                                strongShare: p.strongShare,
                                embeddingModel: p.embeddingModel,
                                affinity: p.affinity,
                                enabled: p.enabled,
                                targets: p.targets.map((t) => ({ key: targetKey(t), weight: t.weight })),
                              })
                            }
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
        <PolicyDialog
          tenantId={tenantId}
          draft={editing}
          options={targets.data ?? { models: [], backends: [], aliases: [] }}
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

function PolicyDialog({
  tenantId,
  draft,
  options,
  onClose,
  onSaved,
}: {
  tenantId: string;
  draft: Draft;
  options: { models: { name: string; kind: string }[]; backends: { id: string; name: string; models: string[]; health: string }[]; aliases: string[] };
  onClose: () => void;
  onSaved: (alias: string) => void;
}) {
  const trpc = useTRPC();
  const [d, setD] = useState<Draft>(draft);
  const [error, setError] = useState<string | null>(null);
  const onError = (e: unknown) => setError(describeError(e).message);
  const create = useMutation(trpc.routing.create.mutationOptions({ onSuccess: (p) => onSaved(p.alias), onError }));
  const update = useMutation(trpc.routing.update.mutationOptions({ onSuccess: (p) => onSaved(p.alias), onError }));
  const busy = create.isPending || update.isPending;
  const setTarget = (i: number, patch: Partial<Draft["targets"][number]>) => setD((x) => ({ ...x, targets: x.targets.map((t, j) => (j === i ? { ...t, ...patch } : t)) }));

  const submit = () => {
    setError(null);
    const targets = d.targets.map((t) => {
      const parsed = parseKey(t.key);
      return parsed ? { ...parsed, ...(d.strategy === "weighted" && t.weight !== undefined ? { weight: t.weight } : {}) } : null;
    });
    if (targets.some((t) => t === null)) return setError("Choose every target, or remove the empty rows.");
    const common = {
      strategy: d.strategy,
      strongShare: d.strongShare,
      embeddingModel: d.strategy === "difficulty" ? d.embeddingModel : null,
      affinity: d.affinity,
      enabled: d.enabled,
      targets: targets as PolicyTarget[],
    };
    const parsed = d.policyId ? UpdatePolicyInput.safeParse({ policyId: d.policyId, ...common }) : CreatePolicyInput.safeParse({ alias: d.alias, ...common });
    if (!parsed.success) return setError(parsed.error.issues.map((i) => i.message).join("; "));
    if (d.policyId) update.mutate({ tenantId, policyId: d.policyId, ...common });
    else create.mutate({ tenantId, alias: d.alias, ...common });
  };

  return (
    <Dialog open onClose={onClose} title={d.policyId ? `Edit ${d.alias}` : "Create an alias"} description={STRATEGY_HELP[d.strategy]}>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <Alert>{error}</Alert>
        {!d.policyId && (
          <Field label="Alias" id="alias" hint="The model name callers send, e.g. chat-default">
            <input id="alias" className="input mono" autoFocus value={d.alias} onChange={(e) => setD({ ...d, alias: e.target.value })} />
          </Field>
        )}
        <div className="row">
          <Field label="Strategy" id="strategy">
            <select id="strategy" className="select" value={d.strategy} onChange={(e) => setD({ ...d, strategy: e.target.value as StrategyName })}>
              {STRATEGIES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </Field>
          {d.strategy !== "single" && (
            <Field label="Affinity" id="affinity" hint="session: a conversation stays on one healthy target, so upstream prompt caches keep working">
              <select id="affinity" className="select" value={d.affinity} onChange={(e) => setD({ ...d, affinity: e.target.value === "session" ? "session" : "none" })}>
                <option value="none">none</option>
                <option value="session">session</option>
              </select>
            </Field>
          )}
          {d.strategy === "difficulty" && (
            <Field label="Share to the strongest tier (%)" id="strongShare">
              <input
                id="strongShare"
                className="input"
                type="number"
                min={1}
                max={99}
                value={Math.round(d.strongShare * 100)}
                onChange={(e) => setD({ ...d, strongShare: Number(e.target.value) / 100 })}
              />
            </Field>
          )}
          {d.strategy === "difficulty" && (
            <Field label="Embedding model (optional)" id="embeddingModel" hint="Adds similarity to built-in easy/hard examples to the score">
              <select id="embeddingModel" className="select" value={d.embeddingModel ?? ""} onChange={(e) => setD({ ...d, embeddingModel: e.target.value || null })}>
                <option value="">none (text features only)</option>
                {options.models
                  .filter((m) => m.kind === "embedding")
                  .map((m) => (
                    <option key={m.name} value={m.name}>
                      {m.name}
                    </option>
                  ))}
              </select>
            </Field>
          )}
        </div>
        <fieldset className="field">
          <legend>{d.strategy === "difficulty" ? "Tiers, weakest first" : d.strategy === "fallback" ? "Targets, in the order to try them" : "Targets"}</legend>
          {d.targets.map((t, i) => (
            <div className="row" key={i}>
              <select className="select" aria-label={`Target ${i + 1}`} value={t.key} onChange={(e) => setTarget(i, { key: e.target.value })}>
                <option value="">Choose…</option>
                <optgroup label="Local models">
                  {options.models.map((m) => (
                    <option key={m.name} value={`model:${m.name}`}>
                      {m.name}
                    </option>
                  ))}
                </optgroup>
                {options.backends.map((b) => (
                  <optgroup key={b.id} label={`Backend ${b.name} (${b.health})`}>
                    {b.models.map((m) => (
                      <option key={m} value={`backend:${b.id}/${m}`}>
                        {b.name}/{m}
                      </option>
                    ))}
                  </optgroup>
                ))}
                <optgroup label="Other aliases">
                  {options.aliases
                    .filter((a) => a !== d.alias)
                    .map((a) => (
                      <option key={a} value={`alias:${a}`}>
                        {a}
                      </option>
                    ))}
                </optgroup>
              </select>
              {d.strategy === "weighted" && (
                <input
                  className="input"
                  type="number"
                  aria-label={`Weight of target ${i + 1}`}
                  placeholder="weight"
                  value={t.weight ?? ""}
                  onChange={(e) => setTarget(i, { weight: e.target.value === "" ? undefined : Number(e.target.value) })}
                />
              )}
              <button type="button" className="btn btn-sm" disabled={d.targets.length === 1} onClick={() => setD({ ...d, targets: d.targets.filter((_, j) => j !== i) })}>
                Remove
              </button>
            </div>
          ))}
          <button type="button" className="btn btn-sm" onClick={() => setD({ ...d, targets: [...d.targets, { key: "", weight: undefined }] })}>
            Add target
          </button>
        </fieldset>
        <label className="check">
          <input type="checkbox" checked={d.enabled} onChange={(e) => setD({ ...d, enabled: e.target.checked })} /> Enabled
        </label>
        <div className="form-actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? "Saving…" : "Save"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function HistoryDialog({ tenantId, policyId, manage, onClose, onRestored }: { tenantId: string; policyId: string; manage: boolean; onClose: () => void; onRestored: () => Promise<void> }) {
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

/** "user: …" / "assistant: …" / "system: …" lines; a line without a prefix continues the previous message. */
function parseConversation(text: string) {
  const out: { role: "system" | "user" | "assistant"; content: string }[] = [];
  for (const line of text.split("\n")) {
    const m = /^(system|user|assistant):\s?(.*)$/i.exec(line);
    if (m) out.push({ role: m[1]!.toLowerCase() as "system" | "user" | "assistant", content: m[2]! });
    else if (out.length) out[out.length - 1]!.content += `\n${line}`;
    else if (line.trim()) out.push({ role: "user", content: line });
  }
  return out;
}

type DryRunMessage = { role: "system" | "user" | "assistant"; content: string | ({ type: "text"; text: string } | { type: "image"; url: string })[] };

/** The conversation with an image attached to its last user message (routing only looks at whether there is one). */
function withImage(messages: ReturnType<typeof parseConversation>): DryRunMessage[] {
  const last = messages.map((m) => m.role).lastIndexOf("user");
  return messages.map((m, i) => (i === last ? { ...m, content: [{ type: "text", text: m.content }, { type: "image", url: "https://example.invalid/dry-run.png" }] } : m));
}

function DryRun({ tenantId, aliases }: { tenantId: string; aliases: string[] }) {
  const trpc = useTRPC();
  const [alias, setAlias] = useState(aliases[0] ?? "");
  const [text, setText] = useState("user: Hi!");
  const [image, setImage] = useState(false);
  const [input, setInput] = useState<{ alias: string; messages: DryRunMessage[] } | null>(null);
  const q = useQuery({ ...trpc.routing.dryRun.queryOptions({ tenantId, alias: input?.alias ?? "", messages: input?.messages ?? [] }), enabled: input !== null });
  const r = q.data;
  return (
    <div className="panel">
      <div className="panel-head">
        <div>
          <h2>Dry run</h2>
          <p>Which target would serve this conversation, and why — no model is called.</p>
        </div>
      </div>
      <div className="panel-body">
        <form
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            const messages = parseConversation(text);
            setInput({ alias, messages: image ? withImage(messages) : messages });
          }}
        >
          <Field label="Alias" id="dry-alias">
            <select id="dry-alias" className="select" value={alias} onChange={(e) => setAlias(e.target.value)}>
              {aliases.map((a) => (
                <option key={a} value={a}>
                  {a}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Conversation" id="dry-text" hint="One message per line, each starting with user:, assistant: or system:">
            <textarea id="dry-text" className="input mono" rows={5} value={text} onChange={(e) => setText(e.target.value)} />
          </Field>
          <label className="check">
            <input type="checkbox" checked={image} onChange={(e) => setImage(e.target.checked)} /> The last user message carries an image{" "}
            <span className="sub">(text-only targets and local models are skipped)</span>
          </label>
          <div className="form-actions">
            <button type="submit" className="btn btn-primary" disabled={q.isFetching}>
              {q.isFetching ? "Deciding…" : "Decide"}
            </button>
          </div>
        </form>
        {q.error && <Alert>{describeError(q.error).message}</Alert>}
        {r && (
          <dl className="details" data-testid="dry-run-result">
            <div>
              <dt>Chosen</dt>
              <dd className="mono">{r.chosen ? r.chosen.key : "nothing healthy"}</dd>
            </div>
            <div>
              <dt>Why</dt>
              <dd>{r.reason}</dd>
            </div>
            {r.score !== null && (
              <div>
                <dt>Score / thresholds</dt>
                <dd>
                  {r.score.toFixed(4)} / {r.thresholds?.map((t) => t.toFixed(4)).join(", ")} {r.calibration ? `(calibrated on ${r.calibration.samples} requests)` : "(default, not calibrated yet)"}
                </dd>
              </div>
            )}
            <div>
              <dt>Then, if it fails</dt>
              <dd className="mono">{r.fallbacks.length ? r.fallbacks.map((f) => f.key).join(" → ") : "—"}</dd>
            </div>
            {r.skipped.length > 0 && (
              <div>
                <dt>Skipped</dt>
                <dd className="mono">{r.skipped.map((s) => `${s.key} (${s.why})`).join(", ")}</dd>
              </div>
            )}
            <div>
              <dt>Targets</dt>
              <dd>
                {r.targets.map((t) => (
                  <div key={t.key} className="mono">
                    {t.key} <Badge tone={t.healthy ? "ok" : "danger"}>{t.healthy ? "healthy" : "unhealthy"}</Badge> {t.inFlight} in flight
                    {t.images !== undefined && <span className="sub"> · images: {t.images === true ? "yes" : t.images === false ? "no" : "not declared"}</span>}
                  </div>
                ))}
              </dd>
            </div>
          </dl>
        )}
      </div>
    </div>
  );
}

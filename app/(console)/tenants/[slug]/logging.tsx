"use client";
/**
 * Body logging in the console: the tenant's settings (tenant settings tab; admins edit)
 * and the stored conversation of one request (the usage detail), rendered for a
 * developer debugging a bad answer: messages by role, tool calls and results, the answer.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { CustomPatternsSchema, LogPolicyInput } from "@/server/services/request-bodies/schemas";
import { FormFooter, TextField } from "../../../_components/form";
import { Alert, Badge, useToast } from "../../../_components/ui";
import { describeError } from "../../../_lib/errors";
import { useTRPC } from "../../../_lib/trpc";

interface Form {
  bodiesEnabled: boolean;
  keys: string;
  sample: string;
  patterns: string;
  bodyDays: string;
  usageDays: string;
  viewersSeeBodies: boolean;
}

export function TenantLogging({ tenantId, editable }: { tenantId: string; editable: boolean }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const toast = useToast();
  const policy = useQuery(trpc.logging.get.queryOptions({ tenantId }));
  const [form, setForm] = useState<Form | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const save = useMutation(
    trpc.logging.update.mutationOptions({
      onSuccess: async () => {
        await qc.invalidateQueries({ queryKey: trpc.logging.get.queryKey({ tenantId }) });
        setForm(null);
        toast("Logging settings saved");
      },
      onError: (e) => setError(describeError(e).message),
    }),
  );
  const p = policy.data;
  const v: Form | null =
    form ??
    (p
      ? {
          bodiesEnabled: p.bodiesEnabled,
          keys: (p.bodyKeyIds ?? []).join(", "),
          sample: String(p.bodySampleRate),
          patterns: p.redactPatterns.map((r) => `${r.name} = ${r.pattern}`).join("\n"),
          bodyDays: String(p.bodyRetentionDays),
          usageDays: p.usageRetentionDays === null ? "" : String(p.usageRetentionDays),
          viewersSeeBodies: p.viewersSeeBodies,
        }
      : null);
  const set = (patch: Partial<Form>) => v && setForm({ ...v, ...patch });
  /** a text setting's value, its change and whether it may be edited */
  const text = (key: "keys" | "sample" | "patterns" | "bodyDays" | "usageDays") => ({
    value: v?.[key] ?? "",
    onChange: (value: string) => set({ [key]: value }),
    disabled: !editable,
  });
  const flag = (key: "bodiesEnabled" | "viewersSeeBodies") => ({
    checked: v?.[key] ?? false,
    onChange: (checked: boolean) => set({ [key]: checked }),
    disabled: !editable,
  });

  const submit = () => {
    if (!v) return;
    const patterns = v.patterns
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean)
      .map((l) => {
        const i = l.indexOf("=");
        return i < 0 ? { name: l, pattern: "" } : { name: l.slice(0, i).trim(), pattern: l.slice(i + 1).trim() };
      });
    const input = {
      tenantId,
      bodiesEnabled: v.bodiesEnabled,
      bodyKeyIds: v.keys.trim() ? v.keys.split(/[\s,]+/).filter(Boolean) : null,
      bodySampleRate: Number(v.sample),
      redactPatterns: patterns,
      bodyRetentionDays: Number(v.bodyDays),
      usageRetentionDays: v.usageDays.trim() ? Number(v.usageDays) : null,
      viewersSeeBodies: v.viewersSeeBodies,
    };
    const parsed = LogPolicyInput.safeParse(input);
    if (!parsed.success) {
      const e: Record<string, string> = {};
      for (const i of parsed.error.issues) e[String(i.path[0])] ??= i.message;
      const pi = CustomPatternsSchema.safeParse(patterns);
      if (!pi.success) e.redactPatterns = `Line ${Number(pi.error.issues[0]!.path[0]) + 1}: ${pi.error.issues[0]!.message}`;
      return setErrors(e);
    }
    setErrors({});
    setError(null);
    save.mutate(parsed.data);
  };

  return (
    <div className="panel" data-testid="tenant-logging">
      <div className="panel-head">
        <div>
          <h2>
            Request logging {p && (p.bodiesEnabled ? <Badge tone="warn">bodies stored</Badge> : <Badge>bodies off</Badge>)}
          </h2>
          <p>
            Store the prompt and answer of requests for debugging. Secrets (API keys, bearer tokens, card numbers), e-mail addresses and your own
            patterns are replaced with <code>[REDACTED:kind len=N hash=…]</code> before anything is written.
          </p>
        </div>
      </div>
      <div className="panel-body" style={{ maxWidth: 560 }}>
        {policy.error && <Alert>{describeError(policy.error).message}</Alert>}
        {policy.isPending && <div className="skeleton" style={{ height: 120 }} />}
        {v && (
          <form
            noValidate
            onSubmit={(e) => {
              e.preventDefault();
              submit();
            }}
          >
            <Alert>{error}</Alert>
            <Setting id="log-bodies" {...flag("bodiesEnabled")}>
              Store request and response bodies
            </Setting>
            <TextField
              label="Only these API key ids"
              id="log-keys"
              error={errors.bodyKeyIds}
              hint="Comma-separated key ids; empty = every key and the playground."
              className="input mono"
              {...text("keys")}
            />
            <TextField label="Sampling rate" id="log-sample" error={errors.bodySampleRate} hint="Share of requests stored, 0 to 1 (1 = all)." inputMode="decimal" {...text("sample")} />
            <TextField
              label="Custom redactions"
              id="log-patterns"
              error={errors.redactPatterns}
              hint="One per line: name = regular expression (e.g. ticket = TCK-\d{5}). Nested quantifiers, backreferences and lookaround are refused."
              className="input mono"
              rows={3}
              {...text("patterns")}
            />
            <TextField label="Keep bodies (days)" id="log-body-days" error={errors.bodyRetentionDays} inputMode="numeric" {...text("bodyDays")} />
            <TextField
              label="Keep usage rows (days)"
              id="log-usage-days"
              error={errors.usageRetentionDays}
              hint="Empty = the platform default. Hourly totals are kept regardless."
              inputMode="numeric"
              {...text("usageDays")}
            />
            <Setting id="log-viewers" {...flag("viewersSeeBodies")}>
              Viewers may read stored bodies (members and above always may)
            </Setting>
            {editable && <FormFooter submitLabel="Save logging settings" busy={save.isPending} />}
          </form>
        )}
      </div>
    </div>
  );
}

/** An on/off setting on a line of its own, its label styled like a field's. */
function Setting({ id, checked, onChange, disabled, children }: { id: string; checked: boolean; onChange: (checked: boolean) => void; disabled: boolean; children: React.ReactNode }) {
  return (
    <div className="field">
      <label>
        <input type="checkbox" id={id} checked={checked} disabled={disabled} onChange={(e) => onChange(e.target.checked)} /> {children}
      </label>
    </div>
  );
}

// ---- the conversation of one request -----------------------------------------------------

type Part = { type: string; text?: string; url?: string; format?: string };
interface Message {
  role: string;
  content: string | Part[] | null;
  name?: string;
  toolCalls?: { id: string; name: string; arguments: string }[];
  toolCallId?: string;
  refusal?: string | null;
}
interface Choice {
  index: number;
  text: string;
  reasoning: string | null;
  refusal: string | null;
  toolCalls: { id: string; name: string; arguments: string }[];
  finishReason: string;
}

function contentOf(c: Message["content"]): React.ReactNode {
  if (c === null || c === undefined) return null;
  if (typeof c === "string") return c;
  return c.map((p, i) => (
    <span key={i}>{p.type === "text" ? p.text : <em>[{p.type}{p.url ? `: ${p.url.slice(0, 80)}` : ""}]</em>}</span>
  ));
}

function pretty(json: string): string {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}

function ToolCalls({ calls }: { calls: { id: string; name: string; arguments: string }[] }) {
  return (
    <>
      {calls.map((t, i) => (
        <div key={i} className="tool-call" data-testid="tool-call">
          <div className="sub">
            tool call <code>{t.name}</code> {t.id && <span className="mono">({t.id})</span>}
          </div>
          <pre className="mono">{pretty(t.arguments)}</pre>
        </div>
      ))}
    </>
  );
}

const bubble: React.CSSProperties = { borderLeft: "3px solid var(--border, #ccc)", padding: "4px 10px", margin: "6px 0", whiteSpace: "pre-wrap", wordBreak: "break-word" };

export function Conversation({ tenantId, id }: { tenantId: string; id: string }) {
  const trpc = useTRPC();
  const q = useQuery({ ...trpc.usage.body.queryOptions({ tenantId, id }), retry: false });
  if (q.isPending) return <div className="skeleton" style={{ height: 60 }} />;
  if (q.error) {
    const e = describeError(q.error);
    return <p className="sub">{/member role|viewers/.test(e.message) ? "Stored conversations are visible to members; this tenant does not let viewers read them." : e.message}</p>;
  }
  if (!q.data) return <p className="sub">No conversation stored for this request (body logging was off, the key was not selected, or it was not sampled).</p>;
  const doc = q.data.document as { request: { messages?: Message[]; prompt?: string; input?: string[]; tools?: { name: string }[] }; response: { choices: Choice[] } | null; error: { code: string; message: string } | null };
  const req = doc.request;
  return (
    <div data-testid="conversation">
      <div className="sub">
        {q.data.redactions > 0 && <Badge>{q.data.redactions} redacted</Badge>} {q.data.truncated && <Badge tone="warn">truncated</Badge>}{" "}
        {req.tools?.length ? `Tools offered: ${req.tools.map((t) => t.name).join(", ")}` : null}
      </div>
      {req.messages?.map((m, i) => (
        <div key={i} style={bubble} data-testid={`message-${m.role}`}>
          <strong>{m.role === "tool" ? `tool result${m.toolCallId ? ` (${m.toolCallId})` : ""}` : m.role}</strong>
          <div>{contentOf(m.content)}</div>
          {m.refusal && <div className="sub">refusal: {m.refusal}</div>}
          {m.toolCalls?.length ? <ToolCalls calls={m.toolCalls} /> : null}
        </div>
      ))}
      {req.prompt !== undefined && (
        <div style={bubble}>
          <strong>prompt</strong>
          <div>{req.prompt}</div>
        </div>
      )}
      {req.input?.map((t, i) => (
        <div key={i} style={bubble}>
          <strong>input {i + 1}</strong>
          <div>{t}</div>
        </div>
      ))}
      {doc.response?.choices.map((c) => (
        <div key={c.index} style={{ ...bubble, borderLeftColor: "var(--accent, #36c)" }} data-testid="answer">
          <strong>
            answer{doc.response!.choices.length > 1 ? ` ${c.index + 1}` : ""} <span className="sub">({c.finishReason})</span>
          </strong>
          {c.reasoning && <div className="sub">reasoning: {c.reasoning}</div>}
          <div>{c.text}</div>
          {c.refusal && <div className="sub">refusal: {c.refusal}</div>}
          <ToolCalls calls={c.toolCalls} />
        </div>
      ))}
      {doc.error && <Alert>{`${doc.error.code}: ${doc.error.message}`}</Alert>}
    </div>
  );
}

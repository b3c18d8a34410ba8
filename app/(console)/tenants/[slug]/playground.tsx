"use client";
import { useMutation } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { Alert, EmptyState } from "../../../_components/ui";
import { useBasePath } from "../../../_lib/base-path";
import { describeError } from "../../../_lib/errors";
import { useTRPC } from "../../../_lib/trpc";

interface Msg {
  role: "system" | "user" | "assistant";
  content: string;
}

type Dialect = "chat" | "responses" | "messages";

/** What each /api/v1 dialect needs: its route, its request body, and how to read its stream events. */
const DIALECTS: Record<Dialect, { label: string; path: string; body: (model: string, system: string, history: Msg[]) => unknown }> = {
  chat: {
    label: "Chat Completions",
    path: "/api/v1/chat/completions",
    body: (model, system, history) => ({
      model,
      stream: true,
      stream_options: { include_usage: true },
      messages: system ? [{ role: "system", content: system }, ...history] : history,
    }),
  },
  responses: {
    label: "Responses",
    path: "/api/v1/responses",
    // the conversation lives here, in the page: nothing to keep server-side
    body: (model, system, history) => ({ model, stream: true, store: false, ...(system ? { instructions: system } : {}), input: history }),
  },
  messages: {
    label: "Messages (Anthropic)",
    path: "/api/v1/messages",
    body: (model, system, history) => ({ model, max_tokens: 1024, stream: true, ...(system ? { system } : {}), messages: history }),
  },
};

interface Read {
  delta?: string;
  usage?: { in?: number; out?: number };
  error?: string;
}

/** One event's text, tokens or error, in the dialect's own shapes. */
function readEvent(dialect: Dialect, data: Record<string, unknown>): Read {
  const o = data as {
    type?: string;
    error?: { message?: string } | string;
    message?: string | { usage?: { input_tokens?: number } };
    choices?: { delta?: { content?: string } }[];
    usage?: { prompt_tokens?: number; completion_tokens?: number; output_tokens?: number } | null;
    delta?: string | { type?: string; text?: string };
    response?: { usage?: { input_tokens: number; output_tokens: number } | null; error?: { message: string } | null };
  };
  const errorText = typeof o.error === "object" ? o.error?.message : typeof o.message === "string" ? o.message : undefined;
  if (o.type === "error" || (dialect === "chat" && o.error)) return { error: errorText ?? "The stream failed" };
  if (dialect === "chat") {
    return { delta: o.choices?.[0]?.delta?.content, ...(o.usage ? { usage: { in: o.usage.prompt_tokens, out: o.usage.completion_tokens } } : {}) };
  }
  if (dialect === "responses") {
    if (o.type === "response.output_text.delta" && typeof o.delta === "string") return { delta: o.delta };
    if (o.type === "response.failed") return { error: o.response?.error?.message ?? "The response failed" };
    const u = o.response?.usage;
    return u && (o.type === "response.completed" || o.type === "response.incomplete") ? { usage: { in: u.input_tokens, out: u.output_tokens } } : {};
  }
  if (o.type === "content_block_delta" && typeof o.delta === "object" && o.delta?.type === "text_delta") return { delta: o.delta.text };
  if (o.type === "message_start" && typeof o.message === "object") return { usage: { in: o.message.usage?.input_tokens } };
  if (o.type === "message_delta" && o.usage) return { usage: { out: o.usage.output_tokens } };
  return {};
}

/** Raw events kept for display: enough to see a whole answer, bounded for a runaway one. */
const MAX_RAW_EVENTS = 2000;

/** OpenAI's or Anthropic's error envelope (both have error.message), or a sentence for anything else. */
async function apiError(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { error?: { message?: string } };
    return body.error?.message ?? `The API answered ${res.status}`;
  } catch {
    return `The API answered ${res.status}`;
  }
}

/**
 * Chats through the real /api/v1 path — same routing, limits and usage log as any
 * client — authenticated with a short-lived access token minted for the signed-in
 * user, so nobody pastes a key into the browser.
 */
export function Playground({ tenantId }: { tenantId: string }) {
  const basePath = useBasePath();
  const trpc = useTRPC();
  const [token, setToken] = useState<{ token: string; expiresAt: Date } | null>(null);
  const [models, setModels] = useState<string[] | null>(null);
  const [model, setModel] = useState("");
  const [system, setSystem] = useState("");
  const [input, setInput] = useState("");
  const [messages, setMessages] = useState<Msg[]>([]);
  const [streaming, setStreaming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [stats, setStats] = useState<string | null>(null);
  const [dialect, setDialect] = useState<Dialect>("chat");
  const [raw, setRaw] = useState<string[]>([]);
  const abort = useRef<AbortController | null>(null);
  const mint = useMutation(trpc.playground.token.mutationOptions());

  async function freshToken(): Promise<string> {
    if (token && token.expiresAt.getTime() - Date.now() > 60_000) return token.token;
    const t = await mint.mutateAsync({ tenantId });
    const next = { token: t.token, expiresAt: new Date(t.expiresAt) };
    setToken(next);
    return next.token;
  }

  useEffect(() => {
    let cancelled = false;
    (async () => {
      try {
        const t = await freshToken();
        const res = await fetch(`${basePath}/api/v1/models`, { headers: { authorization: `Bearer ${t}` } });
        if (!res.ok) throw new Error(await apiError(res));
        const body = (await res.json()) as { data: { id: string }[] };
        if (cancelled) return;
        setModels(body.data.map((m) => m.id));
        setModel((m) => m || body.data[0]?.id || "");
      } catch (e) {
        if (!cancelled) setError(e instanceof Error ? e.message : describeError(e).message);
      }
    })();
    return () => {
      cancelled = true;
      abort.current?.abort();
    };
    // once per tenant: the token is refreshed on send
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [tenantId]);

  async function send(e: React.FormEvent) {
    e.preventDefault();
    const text = input.trim();
    if (!text || !model || streaming) return;
    const history: Msg[] = [...messages, { role: "user", content: text }];
    setMessages([...history, { role: "assistant", content: "" }]);
    setInput("");
    setError(null);
    setStats(null);
    setStreaming(true);
    const ac = new AbortController();
    abort.current = ac;
    const started = performance.now();
    let first: number | null = null;
    let reply = "";
    const seen: string[] = [];
    setRaw([]);
    try {
      const t = await freshToken();
      const d = DIALECTS[dialect];
      const res = await fetch(`${basePath}${d.path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${t}`, "content-type": "application/json" },
        body: JSON.stringify(d.body(model, system.trim(), history)),
        signal: ac.signal,
      });
      if (!res.ok || !res.body) throw new Error(await apiError(res));
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      const usage: { in?: number; out?: number } = {};
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        const events = buffer.split("\n\n");
        buffer = events.pop() ?? "";
        if (seen.length < MAX_RAW_EVENTS) {
          seen.push(...events.filter((ev) => ev.trim()).slice(0, MAX_RAW_EVENTS - seen.length));
          setRaw([...seen]);
        }
        for (const ev of events) {
          const data = ev
            .split("\n")
            .filter((l) => l.startsWith("data: "))
            .map((l) => l.slice(6))
            .join("\n");
          if (!data || data === "[DONE]") continue;
          const r = readEvent(dialect, JSON.parse(data) as Record<string, unknown>);
          if (r.error) throw new Error(r.error);
          if (r.usage) Object.assign(usage, Object.fromEntries(Object.entries(r.usage).filter(([, v]) => v !== undefined)));
          if (r.delta) {
            first ??= performance.now();
            reply += r.delta;
            setMessages([...history, { role: "assistant", content: reply }]);
          }
        }
      }
      const total = performance.now() - started;
      setStats(
        `${usage.in !== undefined || usage.out !== undefined ? `${usage.in ?? "?"} tokens in, ${usage.out ?? "?"} out · ` : ""}first token ${first === null ? "—" : `${Math.round(first - started)} ms`} · ${Math.round(total)} ms in all`,
      );
    } catch (err) {
      if (ac.signal.aborted) setStats("Stopped.");
      else setError(err instanceof Error ? err.message : "The request failed");
      if (!reply) setMessages(history);
    } finally {
      setStreaming(false);
      abort.current = null;
    }
  }

  return (
    <div className="panel">
      <div className="panel-head">
        <div>
          <h2>Playground</h2>
          <p>Chat through {"/api/v1"} as yourself, in the API dialect you pick; each request appears in the usage log.</p>
        </div>
        <div className="inline-form">
          <label htmlFor="pg-model" className="sub">
            Model
          </label>
          <select id="pg-model" className="select select-sm" value={model} onChange={(e) => setModel(e.target.value)} disabled={!models?.length}>
            {models?.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
          <label htmlFor="pg-dialect" className="sub">
            API
          </label>
          <select id="pg-dialect" className="select select-sm" value={dialect} onChange={(e) => setDialect(e.target.value as Dialect)} disabled={streaming}>
            {(Object.keys(DIALECTS) as Dialect[]).map((k) => (
              <option key={k} value={k}>
                {DIALECTS[k].label}
              </option>
            ))}
          </select>
          <button type="button" className="btn btn-sm" onClick={() => setMessages([])} disabled={streaming || messages.length === 0}>
            Clear
          </button>
        </div>
      </div>
      <div className="panel-body">
        <Alert>{error}</Alert>
        {models?.length === 0 && <EmptyState title="No models available to this tenant">A platform admin can add one or grant access.</EmptyState>}
        <details className="field">
          <summary>System prompt</summary>
          <textarea className="input textarea" aria-label="System prompt" value={system} onChange={(e) => setSystem(e.target.value)} rows={3} />
        </details>
        <div className="chat" aria-live="polite" data-testid="chat">
          {messages.length === 0 && <p className="sub">Send a message to start.</p>}
          {messages.map((m, i) => (
            <div key={i} className={`bubble bubble-${m.role}`} data-testid={`msg-${m.role}`}>
              {m.content || (streaming && i === messages.length - 1 ? "…" : "")}
            </div>
          ))}
        </div>
        {stats && <p className="sub" data-testid="chat-stats">{stats}</p>}
        {raw.length > 0 && (
          <details className="field">
            <summary>
              Raw events ({raw.length}
              {raw.length >= MAX_RAW_EVENTS ? "+" : ""}) as a client of {DIALECTS[dialect].path} receives them
            </summary>
            <pre className="raw-events" data-testid="raw-events">
              {raw.join("\n\n")}
            </pre>
          </details>
        )}
        <form className="chat-input" onSubmit={send}>
          <textarea
            className="input textarea"
            aria-label="Message"
            placeholder="Write a message (Enter sends, Shift+Enter for a new line)"
            value={input}
            rows={2}
            onChange={(e) => setInput(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && !e.shiftKey) {
                e.preventDefault();
                e.currentTarget.form?.requestSubmit();
              }
            }}
          />
          {streaming ? (
            <button type="button" className="btn" onClick={() => abort.current?.abort()}>
              Stop
            </button>
          ) : (
            <button type="submit" className="btn btn-primary" disabled={!model || !input.trim()}>
              Send
            </button>
          )}
        </form>
      </div>
    </div>
  );
}

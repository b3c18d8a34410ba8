"use client";
import { useMutation } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { Alert, EmptyState } from "../../../_components/ui";
import { BASE_PATH } from "../../../_lib/base-path";
import { describeError } from "../../../_lib/errors";
import { useTRPC } from "../../../_lib/trpc";

interface Msg {
  role: "system" | "user" | "assistant";
  content: string;
}

/** OpenAI's error envelope, or a sentence for anything else. */
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
        const res = await fetch(`${BASE_PATH}/api/v1/models`, { headers: { authorization: `Bearer ${t}` } });
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
    try {
      const t = await freshToken();
      const res = await fetch(`${BASE_PATH}/api/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${t}`, "content-type": "application/json" },
        body: JSON.stringify({
          model,
          stream: true,
          stream_options: { include_usage: true },
          messages: system.trim() ? [{ role: "system", content: system.trim() }, ...history] : history,
        }),
        signal: ac.signal,
      });
      if (!res.ok || !res.body) throw new Error(await apiError(res));
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      let usage: { prompt_tokens: number; completion_tokens: number } | null = null;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        const events = buffer.split("\n\n");
        buffer = events.pop() ?? "";
        for (const ev of events) {
          const data = ev.replace(/^data: /, "");
          if (data === "[DONE]") continue;
          const chunk = JSON.parse(data) as {
            choices?: { delta?: { content?: string } }[];
            usage?: { prompt_tokens: number; completion_tokens: number } | null;
            error?: { message: string };
          };
          if (chunk.error) throw new Error(chunk.error.message);
          if (chunk.usage) usage = chunk.usage;
          const delta = chunk.choices?.[0]?.delta?.content;
          if (delta) {
            first ??= performance.now();
            reply += delta;
            setMessages([...history, { role: "assistant", content: reply }]);
          }
        }
      }
      const total = performance.now() - started;
      setStats(
        `${usage ? `${usage.prompt_tokens} tokens in, ${usage.completion_tokens} out · ` : ""}first token ${first === null ? "—" : `${Math.round(first - started)} ms`} · ${Math.round(total)} ms in all`,
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
          <p>Chat through {"/api/v1"} as yourself; each request appears in the usage log.</p>
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

"use client";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Check, Field, FormFooter } from "../../../../_components/form";
import { Alert, Badge } from "../../../../_components/ui";
import { describeError } from "../../../../_lib/errors";
import { useTRPC } from "../../../../_lib/trpc";
import { type DryRunMessage, parseConversation, withImage } from "./conversation";

/** Which target an alias would choose for a conversation, and why, without calling a model. */
export function DryRun({ tenantId, aliases }: { tenantId: string; aliases: string[] }) {
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
          <Check checked={image} onChange={setImage}>
            The last user message carries an image <span className="sub">(text-only targets and local models are skipped)</span>
          </Check>
          <FormFooter submitLabel="Decide" busyLabel="Deciding…" busy={q.isFetching} />
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

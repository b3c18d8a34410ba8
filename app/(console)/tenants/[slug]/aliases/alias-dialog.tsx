"use client";
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { CreatePolicyInput, STRATEGIES, type StrategyName, UpdatePolicyInput } from "@/server/services/routing/schemas";
import { Check, Field } from "../../../../_components/form";
import { FormDialog } from "../../../../_components/form-dialog";
import { useZodForm } from "../../../../_components/use-zod-form";
import { describeError } from "../../../../_lib/errors";
import { useTRPC } from "../../../../_lib/trpc";
import { AliasForm, type AliasFormValues, TARGETS_INCOMPLETE, policyOf } from "./alias-form";
import type { TargetOptions } from "./target-options";
import { TargetRows } from "./target-rows";

const STRATEGY_HELP: Record<StrategyName, string> = {
  single: "One target.",
  fallback: "Try targets in order; the next one only if the previous fails before its first token.",
  weighted: "Pick at random by weight; the others are fallbacks.",
  least_busy: "The target with the fewest requests in flight on this server.",
  difficulty: "Tiers from weakest to strongest; each conversation is scored and thresholds are calibrated so the chosen share reaches the strongest tier.",
};

/** Creates an alias (policyId null) or saves a new version of one. */
export function AliasDialog({
  tenantId,
  policyId,
  initial,
  options,
  onClose,
  onSaved,
}: {
  tenantId: string;
  policyId: string | null;
  initial: AliasFormValues;
  options: TargetOptions;
  onClose: () => void;
  onSaved: (alias: string) => void;
}) {
  const trpc = useTRPC();
  const form = useZodForm(AliasForm, initial);
  const v = form.values;
  const set = (patch: Partial<AliasFormValues>) => form.setValues((cur) => ({ ...cur, ...patch }));
  const [error, setError] = useState<string | null>(null);
  const onError = (e: unknown) => setError(describeError(e).message);
  const create = useMutation(trpc.routing.create.mutationOptions({ onSuccess: (p) => onSaved(p.alias), onError }));
  const update = useMutation(trpc.routing.update.mutationOptions({ onSuccess: (p) => onSaved(p.alias), onError }));

  const submit = () => {
    setError(null);
    const data = form.validate();
    if (!data) return setError(TARGETS_INCOMPLETE);
    const common = policyOf(data);
    // The server's schema, so the strategy rules read the same here as from the API.
    const parsed = policyId ? UpdatePolicyInput.safeParse({ policyId, ...common }) : CreatePolicyInput.safeParse({ alias: data.alias, ...common });
    if (!parsed.success) return setError(parsed.error.issues.map((i) => i.message).join("; "));
    if (policyId) update.mutate({ tenantId, policyId, ...common });
    else create.mutate({ tenantId, alias: data.alias, ...common });
  };

  return (
    <FormDialog
      onClose={onClose}
      title={policyId ? `Edit ${v.alias}` : "Create an alias"}
      description={STRATEGY_HELP[v.strategy]}
      error={error}
      onSubmit={submit}
      submitLabel="Save"
      busy={create.isPending || update.isPending}
    >
      {!policyId && (
        <Field label="Alias" id="alias" hint="The model name callers send, e.g. chat-default">
          <input className="input mono" autoFocus {...form.bind("alias")} />
        </Field>
      )}
      <div className="row">
        <Field label="Strategy" id="strategy">
          <select className="select" {...form.bind("strategy")}>
            {STRATEGIES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </Field>
        {v.strategy !== "single" && (
          <Field label="Affinity" id="affinity" hint="session: a conversation stays on one healthy target, so upstream prompt caches keep working">
            <select className="select" {...form.bind("affinity")}>
              <option value="none">none</option>
              <option value="session">session</option>
            </select>
          </Field>
        )}
        {v.strategy === "difficulty" && (
          <Field label="Share to the strongest tier (%)" id="strongShare">
            <input
              id="strongShare"
              className="input"
              type="number"
              min={1}
              max={99}
              value={Math.round(v.strongShare * 100)}
              onChange={(e) => set({ strongShare: Number(e.target.value) / 100 })}
            />
          </Field>
        )}
        {v.strategy === "difficulty" && (
          <Field label="Embedding model (optional)" id="embeddingModel" hint="Adds similarity to built-in easy/hard examples to the score">
            <select id="embeddingModel" className="select" value={v.embeddingModel ?? ""} onChange={(e) => set({ embeddingModel: e.target.value || null })}>
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
      <TargetRows rows={form.array("targets")} strategy={v.strategy} alias={v.alias} options={options} />
      <Check checked={v.enabled} onChange={(enabled) => set({ enabled })}>
        Enabled
      </Check>
    </FormDialog>
  );
}

"use client";
import { Fragment } from "react";
import type { StrategyName } from "@/server/services/routing/schemas";
import { Fieldset } from "../../../../_components/form";
import type { FieldArray } from "../../../../_components/use-zod-form";
import type { AliasFormValues } from "./alias-form";
import type { TargetOptions } from "./target-options";

type Row = AliasFormValues["targets"][number];

const legendOf = (strategy: StrategyName) =>
  strategy === "difficulty" ? "Tiers, weakest first" : strategy === "fallback" ? "Targets, in the order to try them" : "Targets";

/** The alias's targets, one row each: the target, its weight (weighted only), and Remove. */
export function TargetRows({ rows, strategy, alias, options }: { rows: FieldArray<Row>; strategy: StrategyName; alias: string; options: TargetOptions }) {
  return (
    <Fieldset legend={legendOf(strategy)}>
      {rows.rows.map((t, i) => {
        const error = rows.errorFor(i, "key");
        return (
          <Fragment key={i}>
            <div className="row">
              <TargetSelect
                index={i}
                value={t.key}
                alias={alias}
                options={options}
                error={error}
                onChange={(key) => rows.update(i, { key })}
                onBlur={() => rows.touch(i, "key")}
              />
              {strategy === "weighted" && (
                <input
                  className="input"
                  type="number"
                  aria-label={`Weight of target ${i + 1}`}
                  placeholder="weight"
                  value={t.weight ?? ""}
                  onChange={(e) => rows.update(i, { weight: e.target.value === "" ? undefined : Number(e.target.value) })}
                />
              )}
              <button type="button" className="btn btn-sm" disabled={rows.rows.length === 1} onClick={() => rows.remove(i)}>
                Remove
              </button>
            </div>
            {error && (
              <span className="error" id={`target-${i}-error`} role="alert">
                {error}
              </span>
            )}
          </Fragment>
        );
      })}
      <button type="button" className="btn btn-sm" onClick={() => rows.add({ key: "", weight: undefined })}>
        Add target
      </button>
    </Fieldset>
  );
}

/** Local models, every backend's models, and the tenant's other aliases (not this one: no self-loop). */
function TargetSelect({
  index,
  value,
  alias,
  options,
  error,
  onChange,
  onBlur,
}: {
  index: number;
  value: string;
  alias: string;
  options: TargetOptions;
  error?: string;
  onChange: (key: string) => void;
  onBlur: () => void;
}) {
  return (
    <select
      className="select"
      aria-label={`Target ${index + 1}`}
      aria-invalid={error ? true : undefined}
      aria-describedby={error ? `target-${index}-error` : undefined}
      value={value}
      onChange={(e) => onChange(e.target.value)}
      onBlur={onBlur}
    >
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
          .filter((a) => a !== alias)
          .map((a) => (
            <option key={a} value={`alias:${a}`}>
              {a}
            </option>
          ))}
      </optgroup>
    </select>
  );
}

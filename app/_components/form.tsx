"use client";
/**
 * The building blocks every console form is made of, so a label, an error line or the
 * Cancel/Save row looks and reads the same everywhere (and e2e tests find them the same way).
 */

export function Field({
  label,
  error,
  hint,
  children,
  id,
}: {
  label: string;
  error?: string;
  hint?: string;
  id: string;
  children: React.ReactNode;
}) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children}
      {error ? (
        <span className="error" id={`${id}-error`} role="alert">
          {error}
        </span>
      ) : hint ? (
        <span className="hint">{hint}</span>
      ) : null}
    </div>
  );
}

/** A text input (or, with `rows`, a textarea) in a Field, for forms that keep their values as strings. */
export function TextField({
  id,
  label,
  error,
  hint,
  value,
  onChange,
  rows,
  className = "input",
  ...rest
}: {
  id: string;
  label: string;
  error?: string;
  hint?: string;
  value: string;
  onChange: (value: string) => void;
  rows?: number;
  className?: string;
} & Pick<React.InputHTMLAttributes<HTMLInputElement>, "inputMode" | "placeholder" | "disabled" | "type">) {
  const common = { id, className, value, "aria-invalid": error ? true : undefined, disabled: rest.disabled };
  return (
    <Field label={label} id={id} error={error} hint={hint}>
      {rows ? (
        <textarea {...common} rows={rows} onChange={(e) => onChange(e.target.value)} />
      ) : (
        <input {...common} type={rest.type} inputMode={rest.inputMode} placeholder={rest.placeholder} onChange={(e) => onChange(e.target.value)} />
      )}
    </Field>
  );
}

/** A group of controls under a legend, with the group's error line (e.g. "pick at least one"). */
export function Fieldset({
  legend,
  error,
  className,
  testId,
  children,
}: {
  legend: React.ReactNode;
  error?: string;
  className?: string;
  testId?: string;
  children: React.ReactNode;
}) {
  return (
    <fieldset className={`field${className ? ` ${className}` : ""}`} data-testid={testId}>
      <legend>{legend}</legend>
      {children}
      {error && (
        <span className="error" role="alert">
          {error}
        </span>
      )}
    </fieldset>
  );
}

/** A checkbox with its label on the right. */
export function Check({
  checked,
  onChange,
  disabled,
  children,
}: {
  checked: boolean;
  onChange: (checked: boolean) => void;
  disabled?: boolean;
  children: React.ReactNode;
}) {
  return (
    <label className="check">
      <input type="checkbox" checked={checked} disabled={disabled} onChange={(e) => onChange(e.target.checked)} /> {children}
    </label>
  );
}

/**
 * The button row under a form: extra buttons (children) first, then Cancel when `onCancel`
 * is given, then the primary button when `submitLabel` is — it submits the form, or runs
 * `onSubmit` when there is no form. While `busy` it is disabled and reads `busyLabel`.
 */
export function FormFooter({
  onCancel,
  cancelLabel = "Cancel",
  submitLabel,
  busyLabel = "Saving…",
  busy = false,
  disabled = false,
  onSubmit,
  danger,
  autoFocus,
  children,
}: {
  onCancel?: () => void;
  cancelLabel?: string;
  submitLabel?: string;
  busyLabel?: string;
  busy?: boolean;
  disabled?: boolean;
  onSubmit?: () => void;
  danger?: boolean;
  autoFocus?: boolean;
  children?: React.ReactNode;
}) {
  return (
    <div className="form-actions">
      {children}
      {onCancel && (
        <button type="button" className="btn" onClick={onCancel}>
          {cancelLabel}
        </button>
      )}
      {submitLabel && (
        <button
          type={onSubmit ? "button" : "submit"}
          className={`btn ${danger ? "btn-danger-solid" : "btn-primary"}`}
          onClick={onSubmit}
          disabled={busy || disabled}
          autoFocus={autoFocus}
        >
          {busy ? busyLabel : submitLabel}
        </button>
      )}
    </div>
  );
}

"use client";
import { useState } from "react";
import type { z } from "zod";

/**
 * Form state validated by the same zod schema the server uses: errors show as
 * soon as a field has been touched, and all of them on submit. Server-side field
 * errors can be merged in with setServerErrors.
 */
export function useZodForm<S extends z.ZodObject>(schema: S, initial: z.input<S>) {
  const [values, setValues] = useState<z.input<S>>(initial);
  const [touched, setTouched] = useState<Record<string, boolean>>({});
  const [serverErrors, setServerErrors] = useState<Record<string, string>>({});
  const [submitted, setSubmitted] = useState(false);

  const result = schema.safeParse(values);
  const clientErrors: Record<string, string> = {};
  if (!result.success) {
    for (const issue of result.error.issues) {
      const key = String(issue.path[0] ?? "");
      if (!(key in clientErrors)) clientErrors[key] = issue.message;
    }
  }
  const errorFor = (key: string): string | undefined =>
    serverErrors[key] ?? (touched[key] || submitted ? clientErrors[key] : undefined);

  function bind(key: keyof z.input<S> & string) {
    return {
      id: key,
      name: key,
      value: String((values as Record<string, unknown>)[key] ?? ""),
      "aria-invalid": errorFor(key) ? true : undefined,
      "aria-describedby": errorFor(key) ? `${key}-error` : undefined,
      onChange: (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => {
        setValues((v) => ({ ...v, [key]: e.target.value }));
        setServerErrors(({ [key]: _drop, ...rest }) => rest);
      },
      onBlur: () => setTouched((t) => ({ ...t, [key]: true })),
    };
  }

  /** bind() for a number input: the value is a number, or `empty` when the field is cleared. */
  function bindNumber(key: keyof z.input<S> & string, empty: null | undefined = undefined) {
    return {
      ...bind(key),
      type: "number",
      onChange: (e: React.ChangeEvent<HTMLInputElement>) => {
        setValues((v) => ({ ...v, [key]: e.target.value === "" ? empty : Number(e.target.value) }));
        setServerErrors(({ [key]: _drop, ...rest }) => rest);
      },
    };
  }

  /** Returns parsed data, or null (and shows every error) when invalid. */
  function validate(): z.output<S> | null {
    setSubmitted(true);
    return result.success ? result.data : null;
  }

  function reset() {
    setValues(initial);
    setTouched({});
    setServerErrors({});
    setSubmitted(false);
  }

  return { values, setValues, bind, bindNumber, errorFor, validate, reset, setServerErrors };
}

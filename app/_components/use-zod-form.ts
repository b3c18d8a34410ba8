"use client";
import { useState } from "react";
import type { z } from "zod";
import { afterInsert, afterMove, afterRemove, type IndexMap, insertAt, moveItem, reindexKeys, removeAt, update } from "./field-array";

/** The keys of T whose values are arrays (the fields `array()` can manage). */
type ArrayKey<T> = { [K in keyof T]-?: NonNullable<T[K]> extends readonly unknown[] ? K : never }[keyof T] & string;
type ItemOf<T, K extends keyof T> = NonNullable<T[K]> extends readonly (infer I)[] ? I : never;

/** One array field of a useZodForm, as rows (what `array(key)` returns). */
export interface FieldArray<Item> {
  rows: Item[];
  /** appends the row, or inserts it at `at` */
  add: (row: Item, at?: number) => void;
  remove: (index: number) => void;
  move: (from: number, to: number) => void;
  update: (index: number, patch: Partial<Item>) => void;
  /** marks a row's field as touched, so its error shows before submit (call it on blur) */
  touch: (index: number, field: string) => void;
  errorFor: (index: number, field: string) => string | undefined;
}

/**
 * Form state validated by the same zod schema the server uses: errors show as
 * soon as a field has been touched, and all of them on submit. Server-side field
 * errors can be merged in with setServerErrors.
 *
 * Errors and touched flags are keyed by path: "name" for a field, "targets.1.key" for a
 * field of a row of an array field (see `array`), so a row's error stays on its row.
 */
export function useZodForm<S extends z.ZodObject>(schema: S, initial: z.input<S>) {
  type Values = z.input<S>;
  const [values, setValues] = useState<Values>(initial);
  const [touched, setTouched] = useState<Record<string, boolean>>({});
  const [serverErrors, setServerErrors] = useState<Record<string, string>>({});
  const [submitted, setSubmitted] = useState(false);

  const result = schema.safeParse(values);
  const clientErrors: Record<string, string> = {};
  if (!result.success) {
    for (const issue of result.error.issues) {
      // the first error of a field, under its own path and (for nested fields) its top-level field
      for (const key of new Set([String(issue.path[0] ?? ""), issue.path.join(".")])) {
        if (!(key in clientErrors)) clientErrors[key] = issue.message;
      }
    }
  }
  const errorFor = (key: string): string | undefined =>
    serverErrors[key] ?? (touched[key] || submitted ? clientErrors[key] : undefined);
  const clearServerError = (key: string) => setServerErrors(({ [key]: _drop, ...rest }) => rest);

  function bind(key: keyof Values & string) {
    return {
      id: key,
      name: key,
      value: String((values as Record<string, unknown>)[key] ?? ""),
      "aria-invalid": errorFor(key) ? true : undefined,
      "aria-describedby": errorFor(key) ? `${key}-error` : undefined,
      onChange: (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => {
        setValues((v) => ({ ...v, [key]: e.target.value }));
        clearServerError(key);
      },
      onBlur: () => setTouched((t) => ({ ...t, [key]: true })),
    };
  }

  /** bind() for a number input: the value is a number, or `empty` when the field is cleared. */
  function bindNumber(key: keyof Values & string, empty: null | undefined = undefined) {
    return {
      ...bind(key),
      type: "number",
      onChange: (e: React.ChangeEvent<HTMLInputElement>) => {
        setValues((v) => ({ ...v, [key]: e.target.value === "" ? empty : Number(e.target.value) }));
        clearServerError(key);
      },
    };
  }

  /**
   * An array field as rows: add, remove, move and update them; each row's fields have
   * their own error (`errorFor(i, "key")`) and touched flag, and both follow the row
   * when rows are removed or moved.
   */
  function array<K extends ArrayKey<Values>>(key: K): FieldArray<ItemOf<Values, K>> {
    type Item = ItemOf<Values, K>;
    const rows = ((values as Record<string, unknown>)[key] ?? []) as Item[];
    const path = (i: number, field: string) => `${key}.${i}.${field}`;
    const restructure = (change: (list: Item[]) => Item[], map: IndexMap) => {
      setValues((v) => ({ ...v, [key]: change(((v as Record<string, unknown>)[key] ?? []) as Item[]) }));
      setTouched((t) => reindexKeys(t, key, map));
      setServerErrors((e) => reindexKeys(e, key, map));
    };
    return {
      rows,
      add: (row: Item, at = rows.length) => restructure((list) => insertAt(list, at, row), afterInsert(at)),
      remove: (i: number) => restructure((list) => removeAt(list, i), afterRemove(i)),
      move: (from: number, to: number) => restructure((list) => moveItem(list, from, to), afterMove(from, to, rows.length)),
      update: (i: number, patch: Partial<Item>) => {
        setValues((v) => ({ ...v, [key]: update(((v as Record<string, unknown>)[key] ?? []) as (Item & object)[], i, patch as Partial<Item & object>) }));
        for (const field of Object.keys(patch)) clearServerError(path(i, field));
      },
      touch: (i: number, field: string) => setTouched((t) => ({ ...t, [path(i, field)]: true })),
      errorFor: (i: number, field: string) => errorFor(path(i, field)),
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

  return { values, setValues, bind, bindNumber, array, errorFor, validate, reset, setServerErrors };
}

/**
 * The list arithmetic behind useZodForm's array fields, kept pure so it can be tested
 * without a browser: rows are added, removed and moved, and whatever the form keeps per
 * row under "<field>.<index>.…" keys (touched flags, server errors) follows its row.
 */

/** Where each old index ends up (null: the row is gone). */
export type IndexMap = (index: number) => number | null;

export function insertAt<T>(list: readonly T[], index: number, item: T): T[] {
  const i = Math.max(0, Math.min(index, list.length));
  return [...list.slice(0, i), item, ...list.slice(i)];
}

export function removeAt<T>(list: readonly T[], index: number): T[] {
  return list.filter((_, i) => i !== index);
}

export function update<T extends object>(list: readonly T[], index: number, patch: Partial<T>): T[] {
  return list.map((item, i) => (i === index ? { ...item, ...patch } : item));
}

/** The item at `from` taken out and put back at `to` (an index into the result). */
export function moveItem<T>(list: readonly T[], from: number, to: number): T[] {
  if (from < 0 || from >= list.length) return [...list];
  const item = list[from]!;
  return insertAt(removeAt(list, from), to, item);
}

export const afterInsert =
  (at: number): IndexMap =>
  (i) =>
    i >= at ? i + 1 : i;

export const afterRemove =
  (removed: number): IndexMap =>
  (i) =>
    i === removed ? null : i > removed ? i - 1 : i;

export function afterMove(from: number, to: number, length: number): IndexMap {
  const target = Math.max(0, Math.min(to, length - 1));
  return (i) => {
    if (i === from) return target;
    if (from < target && i > from && i <= target) return i - 1;
    if (target < from && i >= target && i < from) return i + 1;
    return i;
  };
}

/** Re-keys the "<field>.<index>…" entries of a per-key record after the rows changed; other keys stay. */
export function reindexKeys<V>(record: Record<string, V>, field: string, map: IndexMap): Record<string, V> {
  const prefix = `${field}.`;
  const out: Record<string, V> = {};
  for (const [key, value] of Object.entries(record)) {
    const m = key.startsWith(prefix) ? /^(\d+)(\..*)?$/.exec(key.slice(prefix.length)) : null;
    if (!m) {
      out[key] = value;
      continue;
    }
    const to = map(Number(m[1]));
    if (to !== null) out[`${prefix}${to}${m[2] ?? ""}`] = value;
  }
  return out;
}

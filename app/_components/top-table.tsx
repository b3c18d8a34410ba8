"use client";
import { EmptyState, SkeletonRows } from "./ui";

export interface Column<R> {
  header: string;
  /** right-aligned, for numbers */
  num?: boolean;
  cell: (row: R) => React.ReactNode;
}

/**
 * A "top N" table (traffic by key, model or tenant): one row per item, the columns the
 * caller picks, skeleton rows while loading and an empty state when there is nothing.
 */
export function TopTable<R>({
  columns,
  rows,
  rowKey,
  pending,
  empty = "No traffic in this period",
}: {
  columns: Column<R>[];
  rows: R[] | undefined;
  rowKey: (row: R) => string;
  pending?: boolean;
  empty?: string;
}) {
  return (
    <>
      <table className="table">
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.header} className={c.num ? "num" : undefined}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {pending && <SkeletonRows cols={columns.length} />}
          {rows?.map((r) => (
            <tr key={rowKey(r)}>
              {columns.map((c) => (
                <td key={c.header} className={c.num ? "num" : undefined}>
                  {c.cell(r)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {rows?.length === 0 && <EmptyState title={empty} />}
    </>
  );
}

"use client";
import { describeError } from "../_lib/errors";
import { Alert, EmptyState, SkeletonRows, formatDate } from "./ui";

export function AuditTable({
  query,
}: {
  query: {
    data?: { items: { id: string; createdAt: Date; actorLabel: string; action: string; targetType: string; targetId: string | null; data: Record<string, unknown> | null }[] };
    error: unknown;
    isPending: boolean;
  };
}) {
  if (query.error) return <Alert>{describeError(query.error).message}</Alert>;
  return (
    <div className="panel">
      {query.data?.items.length === 0 ? (
        <EmptyState title="No activity yet" />
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>When</th>
              <th>Who</th>
              <th>Action</th>
              <th>Details</th>
            </tr>
          </thead>
          <tbody>
            {query.isPending ? (
              <SkeletonRows cols={4} />
            ) : (
              query.data?.items.map((a) => (
                <tr key={a.id}>
                  <td className="sub">{formatDate(a.createdAt)}</td>
                  <td>{a.actorLabel}</td>
                  <td>
                    <code>{a.action}</code>
                  </td>
                  <td className="sub mono">{a.data ? JSON.stringify(a.data) : (a.targetId ?? "")}</td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      )}
    </div>
  );
}

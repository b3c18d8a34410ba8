"use client";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { AuditTable } from "../../../../_components/audit-table";
import { useTRPC } from "../../../../_lib/trpc";

/** The tenant's audit log, filterable by action. */
export function Activity({ tenantId }: { tenantId: string }) {
  const trpc = useTRPC();
  const [action, setAction] = useState("");
  const audit = useQuery(trpc.audit.list.queryOptions({ tenantId, limit: 100, action: action || undefined }));
  return (
    <>
      <div className="toolbar">
        <input
          className="input"
          style={{ width: 260 }}
          placeholder="Filter by action, e.g. api_key."
          aria-label="Filter by action"
          value={action}
          onChange={(e) => setAction(e.target.value.trim())}
        />
        <span className="sub">Who changed what in this tenant, newest first.</span>
      </div>
      <AuditTable query={audit} />
    </>
  );
}

"use client";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { AuditTable } from "../../_components/audit-table";
import { useTRPC } from "../../_lib/trpc";
import { TopBar } from "../shell";

export function PlatformAudit() {
  const trpc = useTRPC();
  const [action, setAction] = useState("");
  const audit = useQuery(trpc.audit.listAll.queryOptions({ limit: 200, action: action || undefined }));
  return (
    <>
      <TopBar crumbs={[{ label: "Audit log" }]} />
      <div className="content">
        <div className="page-head">
          <div>
            <h1>Audit log</h1>
            <p>Who changed what, across the platform. Newest first.</p>
          </div>
          <input
            className="input"
            style={{ width: 240 }}
            placeholder="Filter by action, e.g. member."
            aria-label="Filter by action"
            value={action}
            onChange={(e) => setAction(e.target.value.trim())}
          />
        </div>
        <AuditTable query={audit} />
      </div>
    </>
  );
}

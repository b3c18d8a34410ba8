import type { Metadata } from "next";
import { PlatformAudit } from "./platform-audit";

export const metadata: Metadata = { title: "Audit log" };

export default function AuditPage() {
  return <PlatformAudit />;
}

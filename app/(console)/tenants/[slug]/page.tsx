import type { Metadata } from "next";
import { TenantView } from "./tenant-view";

export const metadata: Metadata = { title: "Tenant" };

export default async function TenantPage({ params }: { params: Promise<{ slug: string }> }) {
  const { slug } = await params;
  return <TenantView slug={slug} />;
}

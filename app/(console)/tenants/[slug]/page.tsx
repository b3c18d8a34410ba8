import type { Metadata } from "next";
import { Suspense } from "react";
import { TenantView } from "./tenant-view/tenant-view";

export const metadata: Metadata = { title: "Tenant" };

export default async function TenantPage({ params }: { params: Promise<{ slug: string }> }) {
  const { slug } = await params;
  // The view reads its tab from the query string.
  return (
    <Suspense>
      <TenantView slug={slug} />
    </Suspense>
  );
}

"use client";
import Link from "next/link";
import { EmptyState } from "../../../../_components/ui";
import { describeError, errorCode } from "../../../../_lib/errors";
import { TopBar } from "../../../shell";

/**
 * The page when the tenant can't be loaded. tenants.bySlug answers NOT_FOUND both when
 * the slug doesn't exist and when the viewer isn't a member, so one text covers both.
 */
export function TenantUnavailable({ slug, error }: { slug: string; error: unknown }) {
  const notFound = errorCode(error) === "NOT_FOUND";
  return (
    <>
      <TopBar crumbs={[{ label: "Tenants", href: "/tenants" }, { label: slug }]} />
      <div className="content">
        <div className="panel">
          <EmptyState title={notFound ? "Tenant not found" : "Could not load this tenant"}>
            <p>{notFound ? "It doesn't exist, or you are not a member of it." : describeError(error).message}</p>
            <Link href="/tenants" className="btn">
              Back to tenants
            </Link>
          </EmptyState>
        </div>
      </div>
    </>
  );
}

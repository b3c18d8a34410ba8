"use client";
import { useQuery } from "@tanstack/react-query";
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { Alert, Badge, StatusBadge } from "../../../../_components/ui";
import { useTRPC } from "../../../../_lib/trpc";
import { TopBar } from "../../../shell";
import { Aliases } from "../aliases/aliases";
import { ApiKeys } from "../keys";
import { Limits } from "../limits";
import { TenantLogging } from "../logging";
import { Overview } from "../overview";
import { Playground } from "../playground";
import { can } from "../roles";
import { TenantIpAllowlist } from "../security";
import { UsageLog } from "../usage";
import { Activity } from "./activity";
import { Members } from "./members";
import { Settings } from "./settings";
import { StatusToggle } from "./status-toggle";
import { type TabId, TABS, tabOf } from "./tabs";
import { TenantUnavailable } from "./tenant-unavailable";

/** A tenant's page: its header, and the tabs the viewer's role may see. */
export function TenantView({ slug }: { slug: string }) {
  const trpc = useTRPC();
  const tenant = useQuery(trpc.tenants.bySlug.queryOptions({ slug }));
  // The tab lives in the URL, so a reload or a shared link opens the same view.
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const tab = tabOf(params.get("tab"));
  const setTab = (id: TabId) => router.replace(`${pathname}?tab=${id}`, { scroll: false });

  if (tenant.error) return <TenantUnavailable slug={slug} error={tenant.error} />;
  const t = tenant.data;
  return (
    <>
      <TopBar crumbs={[{ label: "Tenants", href: "/tenants" }, { label: t?.name ?? slug }]} />
      <div className="content">
        <div className="page-head">
          <div>
            <h1 style={{ display: "flex", gap: 10, alignItems: "center" }}>
              {t?.name ?? <span className="skeleton" style={{ width: 180, height: 22 }} />}
              {t && <StatusBadge status={t.status} />}
            </h1>
            <p>
              <span className="mono">{slug}</span>
              {t && (
                <>
                  {" · "}your role: <Badge tone="accent">{t.viaPlatformAdmin ? "platform admin" : t.role}</Badge>
                </>
              )}
            </p>
          </div>
          {t?.viaPlatformAdmin && <StatusToggle tenantId={t.id} status={t.status} slug={slug} />}
        </div>
        {t?.status === "suspended" && (
          <Alert tone="warn">This tenant is suspended: its API keys are refused until a platform admin reactivates it.</Alert>
        )}
        <div className="tabs" role="tablist">
          {TABS.filter((k) => !t || can(t.role, k.min)).map((k) => (
            <button key={k.id} type="button" role="tab" aria-selected={tab === k.id} onClick={() => setTab(k.id)}>
              {k.label}
            </button>
          ))}
        </div>
        {t && tab === "overview" && <Overview tenantId={t.id} />}
        {t && tab === "keys" && <ApiKeys tenantId={t.id} role={t.role} />}
        {t && tab === "usage" && <UsageLog tenantId={t.id} />}
        {t && tab === "aliases" && <Aliases tenantId={t.id} role={t.role} />}
        {t && tab === "playground" && can(t.role, "member") && <Playground tenantId={t.id} />}
        {t && tab === "limits" && <Limits tenantId={t.id} role={t.role} platformAdmin={t.viaPlatformAdmin} />}
        {t && tab === "members" && <Members tenantId={t.id} role={t.role} />}
        {t && tab === "activity" && <Activity tenantId={t.id} />}
        {t && tab === "settings" && <Settings tenantId={t.id} name={t.name} slug={slug} role={t.role} />}
        {t && tab === "settings" && <TenantIpAllowlist tenantId={t.id} editable={can(t.role, "admin")} />}
        {t && tab === "settings" && <TenantLogging tenantId={t.id} editable={can(t.role, "admin")} />}
      </div>
    </>
  );
}

"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { useState } from "react";
import { AddMemberInput, ROLES } from "@/server/services/members/schemas";
import { UpdateTenantInput } from "@/server/services/tenants/schemas";
import { Field } from "../../../_components/form";
import { Alert, Badge, ConfirmDialog, EmptyState, SkeletonRows, StatusBadge, formatDate, useToast } from "../../../_components/ui";
import { useZodForm } from "../../../_components/use-zod-form";
import { describeError } from "../../../_lib/errors";
import { useTRPC } from "../../../_lib/trpc";
import { AuditTable } from "../../../_components/audit-table";
import { TopBar } from "../../shell";
import { Aliases } from "./aliases/aliases";
import { ApiKeys } from "./keys";
import { Limits } from "./limits";
import { Overview } from "./overview";
import { Playground } from "./playground";
import { type Role, can } from "./roles";
import { TenantLogging } from "./logging";
import { TenantIpAllowlist } from "./security";
import { UsageLog } from "./usage";

const TABS = [
  { id: "overview", label: "Overview", min: "viewer" },
  { id: "keys", label: "API keys", min: "viewer" },
  { id: "usage", label: "Usage log", min: "viewer" },
  { id: "aliases", label: "Aliases", min: "viewer" },
  { id: "playground", label: "Playground", min: "member" },
  { id: "limits", label: "Limits", min: "viewer" },
  { id: "members", label: "Members", min: "viewer" },
  { id: "activity", label: "Activity", min: "viewer" },
  { id: "settings", label: "Settings", min: "viewer" },
] as const satisfies readonly { id: string; label: string; min: Role }[];
type TabId = (typeof TABS)[number]["id"];

export function TenantView({ slug }: { slug: string }) {
  const trpc = useTRPC();
  const tenant = useQuery(trpc.tenants.bySlug.queryOptions({ slug }));
  // The tab lives in the URL, so a reload or a shared link opens the same view.
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const requested = params.get("tab");
  const tab: TabId = TABS.some((t) => t.id === requested) ? (requested as TabId) : "overview";
  const setTab = (id: TabId) => router.replace(`${pathname}?tab=${id}`, { scroll: false });

  if (tenant.error) {
    const notFound = describeError(tenant.error).message.includes("not found");
    return (
      <>
        <TopBar crumbs={[{ label: "Tenants", href: "/tenants" }, { label: slug }]} />
        <div className="content">
          <div className="panel">
            <EmptyState title={notFound ? "Tenant not found" : "Could not load this tenant"}>
              <p>{notFound ? "It doesn't exist, or you are not a member of it." : describeError(tenant.error).message}</p>
              <Link href="/tenants" className="btn">
                Back to tenants
              </Link>
            </EmptyState>
          </div>
        </div>
      </>
    );
  }
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

function StatusToggle({ tenantId, status, slug }: { tenantId: string; status: string; slug: string }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const toast = useToast();
  const [confirm, setConfirm] = useState(false);
  const suspend = status === "active";
  const m = useMutation(
    trpc.tenants.setStatus.mutationOptions({
      onSuccess: async () => {
        await qc.invalidateQueries({ queryKey: trpc.tenants.bySlug.queryKey({ slug }) });
        await qc.invalidateQueries({ queryKey: trpc.tenants.list.queryKey() });
        toast(suspend ? "Tenant suspended" : "Tenant reactivated");
        setConfirm(false);
      },
      onError: (e) => toast(describeError(e).message, "error"),
    }),
  );
  return (
    <>
      <button type="button" className={`btn ${suspend ? "btn-danger" : ""}`} onClick={() => setConfirm(true)}>
        {suspend ? "Suspend tenant" : "Reactivate tenant"}
      </button>
      <ConfirmDialog
        open={confirm}
        title={suspend ? "Suspend this tenant?" : "Reactivate this tenant?"}
        description={
          suspend
            ? "Its API keys stop working at once. Members can still sign in and see its data."
            : "Its API keys work again."
        }
        confirmLabel={suspend ? "Suspend" : "Reactivate"}
        danger={suspend}
        busy={m.isPending}
        onConfirm={() => m.mutate({ tenantId, status: suspend ? "suspended" : "active" })}
        onClose={() => setConfirm(false)}
      />
    </>
  );
}

function Members({ tenantId, role }: { tenantId: string; role: Role }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const toast = useToast();
  const members = useQuery(trpc.members.list.queryOptions({ tenantId }));
  const [removing, setRemoving] = useState<{ id: string; email: string } | null>(null);
  const manage = can(role, "owner");
  const refresh = () =>
    Promise.all([
      qc.invalidateQueries({ queryKey: trpc.members.list.queryKey({ tenantId }) }),
      qc.invalidateQueries({ queryKey: trpc.audit.list.queryKey() }),
      qc.invalidateQueries({ queryKey: trpc.tenants.list.queryKey() }),
    ]);
  const changeRole = useMutation(
    trpc.members.changeRole.mutationOptions({
      onSuccess: async (m) => {
        await refresh();
        toast(`${m.user.email} is now ${m.role}`);
      },
      onError: (e) => toast(describeError(e).message, "error"),
    }),
  );
  const remove = useMutation(
    trpc.members.remove.mutationOptions({
      onSuccess: async () => {
        await refresh();
        toast(`${removing?.email} removed`);
        setRemoving(null);
      },
      onError: (e) => {
        toast(describeError(e).message, "error");
        setRemoving(null);
      },
    }),
  );

  return (
    <>
      {manage && <AddMember tenantId={tenantId} onAdded={refresh} />}
      <div className="panel">
        <div className="panel-head">
          <div>
            <h2>Members</h2>
            <p>
              Owners manage members · admins manage keys and models · members use the gateway · viewers only look.
            </p>
          </div>
        </div>
        {members.error ? (
          <div className="panel-body">
            <Alert>{describeError(members.error).message}</Alert>
          </div>
        ) : members.data?.length === 0 ? (
          <EmptyState title="No members yet">{manage ? "Add someone above." : null}</EmptyState>
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th>User</th>
                <th>Role</th>
                <th>Added</th>
                {manage && <th className="actions">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {members.isPending ? (
                <SkeletonRows cols={manage ? 4 : 3} />
              ) : (
                members.data?.map((m) => (
                  <tr key={m.id} data-testid={`member-${m.user.email}`}>
                    <td>
                      <div>{m.user.email}</div>
                      <div className="sub">
                        {m.user.name}
                        {m.user.disabledAt ? " · disabled" : ""}
                      </div>
                    </td>
                    <td>
                      {manage ? (
                        <select
                          className="select select-sm"
                          aria-label={`Role of ${m.user.email}`}
                          value={m.role}
                          disabled={changeRole.isPending}
                          onChange={(e) => changeRole.mutate({ tenantId, membershipId: m.id, role: e.target.value as Role })}
                        >
                          {ROLES.map((r) => (
                            <option key={r} value={r}>
                              {r}
                            </option>
                          ))}
                        </select>
                      ) : (
                        <Badge>{m.role}</Badge>
                      )}
                    </td>
                    <td className="sub">{formatDate(m.createdAt)}</td>
                    {manage && (
                      <td className="actions">
                        <button
                          type="button"
                          className="btn btn-sm btn-danger"
                          onClick={() => setRemoving({ id: m.id, email: m.user.email })}
                        >
                          Remove
                        </button>
                      </td>
                    )}
                  </tr>
                ))
              )}
            </tbody>
          </table>
        )}
      </div>
      <ConfirmDialog
        open={!!removing}
        title="Remove member?"
        description={`${removing?.email ?? ""} loses access to this tenant at once.`}
        confirmLabel="Remove"
        danger
        busy={remove.isPending}
        onConfirm={() => removing && remove.mutate({ tenantId, membershipId: removing.id })}
        onClose={() => setRemoving(null)}
      />
    </>
  );
}

function AddMember({ tenantId, onAdded }: { tenantId: string; onAdded: () => Promise<unknown> }) {
  const trpc = useTRPC();
  const toast = useToast();
  const form = useZodForm(AddMemberInput, { email: "", role: "member" });
  const [error, setError] = useState<string>();
  const add = useMutation(
    trpc.members.add.mutationOptions({
      onSuccess: async (m) => {
        await onAdded();
        toast(`${m.user.email} added as ${m.role}`);
        form.reset();
        setError(undefined);
      },
      onError: (e) => {
        const d = describeError(e);
        if (Object.keys(d.fields).length) form.setServerErrors(d.fields);
        else setError(d.message);
      },
    }),
  );
  return (
    <div className="panel" style={{ marginBottom: 20 }}>
      <div className="panel-head">
        <div>
          <h2>Add a member</h2>
          <p>The person needs a Switchyard account; a platform admin creates accounts under Users.</p>
        </div>
      </div>
      <div className="panel-body">
        <Alert>{error}</Alert>
        <form
          className="inline-form"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            setError(undefined);
            const data = form.validate();
            if (data) add.mutate({ tenantId, ...data });
          }}
        >
          <div style={{ flex: 1, minWidth: 240 }}>
            <Field label="Email" id="email" error={form.errorFor("email")}>
              <input className="input" type="email" placeholder="name@example.com" {...form.bind("email")} />
            </Field>
          </div>
          <Field label="Role" id="role" error={form.errorFor("role")}>
            <select className="select" {...form.bind("role")}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </Field>
          <div className="field">
            <label aria-hidden>&nbsp;</label>
            <button type="submit" className="btn btn-primary" disabled={add.isPending}>
              {add.isPending ? "Adding…" : "Add member"}
            </button>
          </div>
        </form>
      </div>
    </div>
  );
}

function Activity({ tenantId }: { tenantId: string }) {
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

function Settings({ tenantId, name, slug, role }: { tenantId: string; name: string; slug: string; role: Role }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const toast = useToast();
  const form = useZodForm(UpdateTenantInput, { name });
  const editable = can(role, "admin");
  const update = useMutation(
    trpc.tenants.update.mutationOptions({
      onSuccess: async () => {
        await qc.invalidateQueries({ queryKey: trpc.tenants.bySlug.queryKey({ slug }) });
        await qc.invalidateQueries({ queryKey: trpc.tenants.list.queryKey() });
        toast("Saved");
      },
      onError: (e) => {
        const d = describeError(e);
        form.setServerErrors(Object.keys(d.fields).length ? d.fields : { name: d.message });
      },
    }),
  );
  return (
    <div className="panel">
      <div className="panel-head">
        <h2>Settings</h2>
      </div>
      <div className="panel-body" style={{ maxWidth: 480 }}>
        <form
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            const data = form.validate();
            if (data) update.mutate({ tenantId, ...data });
          }}
        >
          <Field label="Name" id="name" error={form.errorFor("name")}>
            <input className="input" disabled={!editable} {...form.bind("name")} />
          </Field>
          <Field label="Slug" id="slug-ro" hint="The slug can't be changed: API clients and scripts refer to it.">
            <input id="slug-ro" className="input mono" value={slug} disabled readOnly />
          </Field>
          {editable && (
            <div className="form-actions">
              <button type="submit" className="btn btn-primary" disabled={update.isPending}>
                {update.isPending ? "Saving…" : "Save"}
              </button>
            </div>
          )}
        </form>
      </div>
    </div>
  );
}

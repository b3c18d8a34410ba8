"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { CreateTenantInput } from "@/server/services/tenants/schemas";
import { Field } from "../../_components/form";
import { FormDialog } from "../../_components/form-dialog";
import { Alert, Badge, EmptyState, SkeletonRows, StatusBadge, formatDate, useToast } from "../../_components/ui";
import { useZodForm } from "../../_components/use-zod-form";
import { describeError } from "../../_lib/errors";
import { useTRPC } from "../../_lib/trpc";
import { TopBar } from "../shell";

export function TenantsView() {
  const trpc = useTRPC();
  const me = useQuery(trpc.users.me.queryOptions());
  const tenants = useQuery(trpc.tenants.list.queryOptions());
  const [creating, setCreating] = useState(false);
  const isAdmin = me.data?.isPlatformAdmin ?? false;

  return (
    <>
      <TopBar crumbs={[{ label: "Tenants" }]} />
      <div className="content">
        <div className="page-head">
          <div>
            <h1>Tenants</h1>
            <p>{isAdmin ? "Every tenant on this gateway." : "The tenants you are a member of."}</p>
          </div>
          {isAdmin && (
            <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
              New tenant
            </button>
          )}
        </div>
        <div className="panel">
          {tenants.error ? (
            <div className="panel-body">
              <Alert>{describeError(tenants.error).message}</Alert>
              <button type="button" className="btn" onClick={() => tenants.refetch()}>
                Retry
              </button>
            </div>
          ) : tenants.data?.length === 0 ? (
            <EmptyState title="No tenants yet">
              {isAdmin ? "Create the first tenant to give a team its own keys, models and usage." : "Ask a tenant owner to add you."}
            </EmptyState>
          ) : (
            <table className="table">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Slug</th>
                  <th>Status</th>
                  <th>Members</th>
                  <th>Your role</th>
                  <th>Created</th>
                </tr>
              </thead>
              <tbody>
                {tenants.isPending ? (
                  <SkeletonRows cols={6} />
                ) : (
                  tenants.data?.map((t) => (
                    <tr key={t.id}>
                      <td>
                        <Link href={`/tenants/${t.slug}`}>{t.name}</Link>
                      </td>
                      <td className="mono">{t.slug}</td>
                      <td>
                        <StatusBadge status={t.status} />
                      </td>
                      <td>{t.memberCount}</td>
                      <td>{t.role ? <Badge>{t.role}</Badge> : <span className="sub">platform admin</span>}</td>
                      <td className="sub">{formatDate(t.createdAt)}</td>
                    </tr>
                  ))
                )}
              </tbody>
            </table>
          )}
        </div>
      </div>
      {creating && <CreateTenantDialog onDone={() => setCreating(false)} />}
    </>
  );
}

function CreateTenantDialog({ onDone }: { onDone: () => void }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const router = useRouter();
  const toast = useToast();
  const form = useZodForm(CreateTenantInput, { name: "", slug: "" });
  const [slugEdited, setSlugEdited] = useState(false);
  const [error, setError] = useState<string>();
  const create = useMutation(
    trpc.tenants.create.mutationOptions({
      onSuccess: async (t) => {
        await qc.invalidateQueries({ queryKey: trpc.tenants.list.queryKey() });
        toast(`Tenant ${t.name} created`);
        onDone();
        router.push(`/tenants/${t.slug}`);
      },
      onError: (e) => {
        const d = describeError(e);
        form.setServerErrors(d.fields);
        setError(Object.keys(d.fields).length ? undefined : d.message);
      },
    }),
  );

  const nameProps = form.bind("name");
  return (
    <FormDialog
      onClose={onDone}
      title="New tenant"
      description="A tenant is a team or customer with its own members, API keys and usage."
      error={error}
      onSubmit={() => {
        const data = form.validate();
        if (data) create.mutate(data);
      }}
      submitLabel="Create tenant"
      busyLabel="Creating…"
      busy={create.isPending}
    >
      <Field label="Name" id="name" error={form.errorFor("name")}>
        <input
          className="input"
          autoFocus
          {...nameProps}
          onChange={(e) => {
            nameProps.onChange(e);
            if (!slugEdited) {
              const slug = e.target.value
                .toLowerCase()
                .replace(/[^a-z0-9]+/g, "-")
                .replace(/^-+|-+$/g, "")
                .slice(0, 40);
              form.setValues((v) => ({ ...v, name: e.target.value, slug }));
            }
          }}
        />
      </Field>
      <Field label="Slug" id="slug" error={form.errorFor("slug")} hint="Used in URLs and the CLI. Lower-case letters, digits and dashes.">
        <input
          className="input mono"
          {...form.bind("slug")}
          onInput={() => setSlugEdited(true)}
        />
      </Field>
    </FormDialog>
  );
}

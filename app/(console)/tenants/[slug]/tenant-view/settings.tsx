"use client";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { UpdateTenantInput } from "@/server/services/tenants/schemas";
import { Field, FormFooter } from "../../../../_components/form";
import { useToast } from "../../../../_components/ui";
import { useZodForm } from "../../../../_components/use-zod-form";
import { describeError } from "../../../../_lib/errors";
import { useTRPC } from "../../../../_lib/trpc";
import { type Role, can } from "../roles";

/** The tenant's name (admins edit it) and its fixed slug. */
export function Settings({ tenantId, name, slug, role }: { tenantId: string; name: string; slug: string; role: Role }) {
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
          {editable && <FormFooter submitLabel="Save" busy={update.isPending} />}
        </form>
      </div>
    </div>
  );
}

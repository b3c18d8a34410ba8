"use client";
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { AddMemberInput, ROLES } from "@/server/services/members/schemas";
import { Field } from "../../../../_components/form";
import { Alert, useToast } from "../../../../_components/ui";
import { useZodForm } from "../../../../_components/use-zod-form";
import { describeError } from "../../../../_lib/errors";
import { useTRPC } from "../../../../_lib/trpc";

/** Adds an existing account to the tenant with a role. */
export function AddMember({ tenantId, onAdded }: { tenantId: string; onAdded: () => Promise<unknown> }) {
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

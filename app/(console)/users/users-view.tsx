"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { CreateUserInput } from "@/server/services/users/schemas";
import { Field } from "../../_components/form";
import { FormDialog } from "../../_components/form-dialog";
import { Alert, Badge, EmptyState, SkeletonRows, formatDate, useToast } from "../../_components/ui";
import { useZodForm } from "../../_components/use-zod-form";
import { describeError } from "../../_lib/errors";
import { useTRPC } from "../../_lib/trpc";
import { TopBar } from "../shell";

export function UsersView() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const toast = useToast();
  const me = useQuery(trpc.users.me.queryOptions());
  const users = useQuery(trpc.users.list.queryOptions());
  const [creating, setCreating] = useState(false);
  const setDisabled = useMutation(
    trpc.users.setDisabled.mutationOptions({
      onSuccess: async (u) => {
        await qc.invalidateQueries({ queryKey: trpc.users.list.queryKey() });
        toast(`${u.email} ${u.disabledAt ? "disabled" : "enabled"}`);
      },
      onError: (e) => toast(describeError(e).message, "error"),
    }),
  );
  return (
    <>
      <TopBar crumbs={[{ label: "Users" }]} />
      <div className="content">
        <div className="page-head">
          <div>
            <h1>Users</h1>
            <p>Accounts that can sign in to the console. Add them to tenants from a tenant&apos;s page.</p>
          </div>
          <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
            New user
          </button>
        </div>
        <div className="panel">
          {users.error ? (
            <div className="panel-body">
              <Alert>{describeError(users.error).message}</Alert>
            </div>
          ) : users.data?.length === 0 ? (
            <EmptyState title="No users" />
          ) : (
            <table className="table">
              <thead>
                <tr>
                  <th>User</th>
                  <th>Role</th>
                  <th>Tenants</th>
                  <th>Last sign-in</th>
                  <th className="actions">Actions</th>
                </tr>
              </thead>
              <tbody>
                {users.isPending ? (
                  <SkeletonRows cols={5} />
                ) : (
                  users.data?.map((u) => (
                    <tr key={u.id}>
                      <td>
                        <div>{u.email}</div>
                        <div className="sub">{u.name}</div>
                      </td>
                      <td>
                        {u.isPlatformAdmin ? <Badge tone="accent">platform admin</Badge> : <Badge>user</Badge>}
                        {u.disabledAt && (
                          <>
                            {" "}
                            <Badge tone="danger">disabled</Badge>
                          </>
                        )}
                      </td>
                      <td>{u._count.memberships}</td>
                      <td className="sub">{formatDate(u.lastLoginAt)}</td>
                      <td className="actions">
                        {u.id !== me.data?.id && (
                          <button
                            type="button"
                            className={`btn btn-sm ${u.disabledAt ? "" : "btn-danger"}`}
                            disabled={setDisabled.isPending}
                            onClick={() => setDisabled.mutate({ userId: u.id, disabled: !u.disabledAt })}
                          >
                            {u.disabledAt ? "Enable" : "Disable"}
                          </button>
                        )}
                      </td>
                    </tr>
                  ))
                )}
              </tbody>
            </table>
          )}
        </div>
      </div>
      {creating && <CreateUserDialog onDone={() => setCreating(false)} />}
    </>
  );
}

function CreateUserDialog({ onDone }: { onDone: () => void }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const toast = useToast();
  const form = useZodForm(CreateUserInput, { email: "", name: "", password: "", isPlatformAdmin: false });
  const [error, setError] = useState<string>();
  const create = useMutation(
    trpc.users.create.mutationOptions({
      onSuccess: async (u) => {
        await qc.invalidateQueries({ queryKey: trpc.users.list.queryKey() });
        toast(`${u.email} created`);
        onDone();
      },
      onError: (e) => {
        const d = describeError(e);
        if (Object.keys(d.fields).length) form.setServerErrors(d.fields);
        else setError(d.message);
      },
    }),
  );
  return (
    <FormDialog
      onClose={onDone}
      title="New user"
      description="They sign in with this email and password."
      error={error}
      onSubmit={() => {
        const data = form.validate();
        if (data) create.mutate(data);
      }}
      submitLabel="Create user"
      busyLabel="Creating…"
      busy={create.isPending}
    >
      <Field label="Email" id="email" error={form.errorFor("email")}>
        <input className="input" type="email" autoFocus {...form.bind("email")} />
      </Field>
      <Field label="Name" id="name" error={form.errorFor("name")}>
        <input className="input" {...form.bind("name")} />
      </Field>
      <Field label="Password" id="password" error={form.errorFor("password")} hint="At least 10 characters.">
        <input className="input" type="password" autoComplete="new-password" {...form.bind("password")} />
      </Field>
      <label style={{ display: "flex", gap: 8, alignItems: "center", marginBottom: 14 }}>
        <input
          type="checkbox"
          checked={!!form.values.isPlatformAdmin}
          onChange={(e) => form.setValues((v) => ({ ...v, isPlatformAdmin: e.target.checked }))}
        />
        Platform admin (can manage every tenant and user)
      </label>
    </FormDialog>
  );
}

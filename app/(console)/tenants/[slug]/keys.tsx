"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { z } from "zod";
import { API_SCOPES } from "@/server/auth/principal";
import { ApiKeyName, CreateApiKeyInput, RotateApiKeyInput } from "@/server/services/api-keys/schemas";
import { Field, Fieldset, FormFooter } from "../../../_components/form";
import { FormDialog } from "../../../_components/form-dialog";
import { Alert, Badge, ConfirmDialog, Dialog, EmptyState, SkeletonRows, formatDate, useToast } from "../../../_components/ui";
import { useZodForm } from "../../../_components/use-zod-form";
import { describeError } from "../../../_lib/errors";
import { useTRPC } from "../../../_lib/trpc";
import { type Role, can } from "./roles";
import { type KeyRef, KeySecurityDialog } from "./security";
import { type Grace, GraceSelect } from "./grace-select";

const EXPIRY = { never: null, "7d": 7, "30d": 30, "90d": 90, "365d": 365 } as const;

const KeyForm = z.object({
  name: ApiKeyName,
  models: z.string().max(5000, "That list is too long"),
  expires: z.enum(Object.keys(EXPIRY) as [keyof typeof EXPIRY, ...(keyof typeof EXPIRY)[]]),
});

interface Shown {
  key: string;
  name: string;
  note: string;
  /** what is shown: a new key (default) or a new signing secret */
  kind?: "key" | "secret";
}

export function ApiKeys({ tenantId, role }: { tenantId: string; role: Role }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const toast = useToast();
  const keys = useQuery(trpc.apiKeys.list.queryOptions({ tenantId }));
  const manage = can(role, "admin");
  const [creating, setCreating] = useState(false);
  const [shown, setShown] = useState<Shown | null>(null);
  const [revoking, setRevoking] = useState<{ id: string; name: string } | null>(null);
  const [rotating, setRotating] = useState<{ id: string; name: string } | null>(null);
  const [securing, setSecuring] = useState<KeyRef | null>(null);
  const refresh = () => qc.invalidateQueries({ queryKey: trpc.apiKeys.list.queryKey({ tenantId }) });

  const revoke = useMutation(
    trpc.apiKeys.revoke.mutationOptions({
      onSuccess: async (k) => {
        await refresh();
        toast(`Key "${k.name}" revoked`);
        setRevoking(null);
      },
      onError: (e) => toast(describeError(e).message, "error"),
    }),
  );

  return (
    <div className="panel">
      <div className="panel-head">
        <div>
          <h2>API keys</h2>
          <p>Keys call {"/api/v1"} as this tenant. A key is shown once, when it is made; only its prefix is kept.</p>
        </div>
        {manage && (
          <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
            Create key
          </button>
        )}
      </div>
      {keys.error ? (
        <div className="panel-body">
          <Alert>{describeError(keys.error).message}</Alert>
        </div>
      ) : (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Key</th>
                <th>Scopes</th>
                <th>Created</th>
                <th>Last used</th>
                <th>Expires</th>
                <th>Status</th>
                {manage && <th className="actions">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {keys.isPending && <SkeletonRows cols={manage ? 8 : 7} />}
              {keys.data?.map((k) => (
                <tr key={k.id} data-testid={`key-${k.name}`}>
                  <td>
                    <strong>{k.name}</strong>
                    {k.models && <div className="sub">models: {k.models.join(", ")}</div>}
                    {k.rotatedFromId && <div className="sub">replaces an earlier key</div>}
                    {(k.signingRequired || k.ipAllowlist) && (
                      <div className="sub" data-testid="key-security">
                        {k.signingRequired && <Badge tone="ok">signed</Badge>} {k.ipAllowlist && <Badge>IP: {k.ipAllowlist.join(", ")}</Badge>}
                      </div>
                    )}
                  </td>
                  <td className="mono">{k.prefix}…</td>
                  <td className="sub">{k.scopes.join(", ")}</td>
                  <td className="sub">{formatDate(k.createdAt)}</td>
                  <td className="sub">{k.lastUsedAt ? formatDate(k.lastUsedAt) : "never"}</td>
                  <td className="sub">{k.expiresAt ? formatDate(k.expiresAt) : "never"}</td>
                  <td>
                    <Badge tone={k.status === "active" ? "ok" : k.status === "revoked" ? "danger" : "warn"}>{k.status}</Badge>
                  </td>
                  {manage && (
                    <td className="actions">
                      {k.status === "active" && (
                        <>
                          <button type="button" className="btn btn-sm" onClick={() => setSecuring(k)}>
                            Security
                          </button>{" "}
                          <button type="button" className="btn btn-sm" onClick={() => setRotating({ id: k.id, name: k.name })}>
                            Rotate
                          </button>{" "}
                          <button type="button" className="btn btn-sm btn-danger" onClick={() => setRevoking({ id: k.id, name: k.name })}>
                            Revoke
                          </button>
                        </>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
          {keys.data?.length === 0 && (
            <EmptyState title="No API keys yet">
              <p>{manage ? "Create one to call the API as this tenant." : "An admin of this tenant can create one."}</p>
            </EmptyState>
          )}
        </div>
      )}

      {manage && (
        <CreateKeyDialog
          open={creating}
          tenantId={tenantId}
          onClose={() => setCreating(false)}
          onCreated={async (key, name) => {
            setCreating(false);
            await refresh();
            setShown({ key, name, note: "Copy it now: it will not be shown again." });
          }}
        />
      )}
      {manage && rotating && (
        <RotateDialog
          tenantId={tenantId}
          keyRef={rotating}
          onClose={() => setRotating(null)}
          onRotated={async (key, name, endsAt) => {
            setRotating(null);
            await refresh();
            setShown({
              key,
              name,
              note: `Copy it now: it will not be shown again. The old key works until ${formatDate(endsAt)}.`,
            });
          }}
        />
      )}
      {manage && securing && (
        <KeySecurityDialog
          tenantId={tenantId}
          keyRef={securing}
          onClose={() => setSecuring(null)}
          onChanged={refresh}
          onSecret={(secret, note) => {
            const name = securing.name;
            setSecuring(null);
            setShown({ key: secret, name, note, kind: "secret" });
          }}
        />
      )}
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke "${revoking?.name ?? ""}"?`}
        description="Requests with this key are refused within a second, on every server. This cannot be undone."
        confirmLabel="Revoke key"
        danger
        busy={revoke.isPending}
        onConfirm={() => revoking && revoke.mutate({ tenantId, keyId: revoking.id })}
        onClose={() => setRevoking(null)}
      />
      <Dialog open={shown !== null} onClose={() => setShown(null)} title={shown?.kind === "secret" ? `Signing secret of ${shown.name}` : `Your new key: ${shown?.name ?? ""}`} description={shown?.note}>
        {shown && <ShowOnce value={shown.key} onDone={() => setShown(null)} />}
      </Dialog>
    </div>
  );
}

function ShowOnce({ value, onDone }: { value: string; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <>
      <div className="secret">
        <code data-testid="new-api-key">{value}</code>
        <button
          type="button"
          className="btn btn-sm"
          onClick={async () => {
            try {
              await navigator.clipboard.writeText(value);
              setCopied(true);
            } catch {
              setCopied(false);
            }
          }}
        >
          {copied ? "Copied" : "Copy"}
        </button>
      </div>
      <FormFooter submitLabel="I have saved it" onSubmit={onDone} autoFocus />
    </>
  );
}

function CreateKeyDialog({
  open,
  tenantId,
  onClose,
  onCreated,
}: {
  open: boolean;
  tenantId: string;
  onClose: () => void;
  onCreated: (key: string, name: string) => void;
}) {
  const trpc = useTRPC();
  const form = useZodForm(KeyForm, { name: "", models: "", expires: "never" });
  const [scopes, setScopes] = useState<string[]>([...API_SCOPES]);
  const [error, setError] = useState<string | null>(null);
  const create = useMutation(
    trpc.apiKeys.create.mutationOptions({
      onSuccess: (r) => {
        form.reset();
        setScopes([...API_SCOPES]);
        onCreated(r.key, r.apiKey.name);
      },
      onError: (e) => {
        const d = describeError(e);
        form.setServerErrors(d.fields);
        setError(d.message);
      },
    }),
  );
  const close = () => {
    form.reset();
    setError(null);
    onClose();
  };
  const submit = () => {
    const v = form.validate();
    if (!v) return;
    const days = EXPIRY[v.expires];
    const models = v.models.split(/[\s,]+/).filter(Boolean);
    const input = {
      name: v.name,
      scopes,
      models: models.length ? models : null,
      expiresAt: days === null ? null : new Date(Date.now() + days * 86_400_000),
    };
    // The server's own schema, so scope and model errors read the same here as from the API.
    const checked = CreateApiKeyInput.safeParse(input);
    if (!checked.success) {
      const issue = checked.error.issues[0]!;
      form.setServerErrors({ [String(issue.path[0] ?? "name")]: issue.message });
      return;
    }
    setError(null);
    create.mutate({ tenantId, ...input });
  };
  return (
    <FormDialog
      open={open}
      onClose={close}
      title="Create an API key"
      description="The key is shown once, right after it is created."
      error={error}
      onSubmit={submit}
      submitLabel="Create key"
      busyLabel="Creating…"
      busy={create.isPending}
    >
      <Field label="Name" id="name" error={form.errorFor("name")} hint="Who or what uses it, e.g. “billing service”">
        <input className="input" autoFocus {...form.bind("name")} />
      </Field>
      <Fieldset legend="Scopes" error={form.errorFor("scopes")}>
        <div className="checks">
          {API_SCOPES.map((s) => (
            <label key={s}>
              <input
                type="checkbox"
                checked={scopes.includes(s)}
                onChange={(e) => setScopes((cur) => (e.target.checked ? [...cur, s] : cur.filter((x) => x !== s)))}
              />{" "}
              {s}
            </label>
          ))}
        </div>
      </Fieldset>
      <Field label="Models" id="models" error={form.errorFor("models")} hint="Optional: comma-separated model names; empty = every model the tenant may use">
        <input className="input" placeholder="e.g. demo, llama-3-8b" {...form.bind("models")} />
      </Field>
      <Field label="Expires" id="expires" error={form.errorFor("expires")}>
        <select className="select" {...form.bind("expires")}>
          <option value="never">Never</option>
          <option value="7d">In 7 days</option>
          <option value="30d">In 30 days</option>
          <option value="90d">In 90 days</option>
          <option value="365d">In a year</option>
        </select>
      </Field>
    </FormDialog>
  );
}

function RotateDialog({
  tenantId,
  keyRef,
  onClose,
  onRotated,
}: {
  tenantId: string;
  keyRef: { id: string; name: string };
  onClose: () => void;
  onRotated: (key: string, name: string, oldEndsAt: Date | null) => void;
}) {
  const trpc = useTRPC();
  const [grace, setGrace] = useState<Grace>("3600");
  const [error, setError] = useState<string | null>(null);
  const rotate = useMutation(
    trpc.apiKeys.rotate.mutationOptions({
      onSuccess: (r) => onRotated(r.key, r.apiKey.name, r.previous.expiresAt),
      onError: (e) => setError(describeError(e).message),
    }),
  );
  return (
    <FormDialog
      onClose={onClose}
      title={`Rotate "${keyRef.name}"?`}
      description="A new key with the same name, scopes and models is issued. The old key keeps working for the grace period, then stops."
      error={error}
      onSubmit={() => {
        const input = RotateApiKeyInput.safeParse({ keyId: keyRef.id, graceSeconds: Number(grace) });
        if (!input.success) return setError(input.error.issues[0]!.message);
        rotate.mutate({ tenantId, ...input.data });
      }}
      submitLabel="Rotate key"
      busyLabel="Rotating…"
      busy={rotate.isPending}
    >
      <Field label="Old key keeps working for" id="grace">
        <GraceSelect id="grace" value={grace} onChange={setGrace} />
      </Field>
    </FormDialog>
  );
}

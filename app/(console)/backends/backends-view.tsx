"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { CreateBackendInput, VISION_CHOICES } from "@/server/services/backends/schemas";
import { Check, Field } from "../../_components/form";
import { FormDialog } from "../../_components/form-dialog";
import { Alert, Badge, ConfirmDialog, EmptyState, SkeletonRows, formatDate, useToast } from "../../_components/ui";
import { AccessDialog } from "../../_components/access-dialog";
import { useZodForm } from "../../_components/use-zod-form";
import { describeError } from "../../_lib/errors";
import { useTRPC } from "../../_lib/trpc";
import { TopBar } from "../shell";

const healthTone = (h: string) => (h === "healthy" ? "ok" : h === "unhealthy" ? "danger" : undefined);

/** The image-input declaration as a <select> value ("unset" | "yes" | "no") and back. */
const visionValue = (v: boolean | null | undefined) => VISION_CHOICES.find((c) => c.vision === (v ?? null))!.value;
const visionOfValue = (s: string) => VISION_CHOICES.find((c) => c.value === s)?.vision ?? null;

function VisionSelect({ id, value, onChange, disabled }: { id: string; value: boolean | null | undefined; onChange: (v: boolean | null) => void; disabled?: boolean }) {
  return (
    <select id={id} className="select" value={visionValue(value)} disabled={disabled} onChange={(e) => onChange(visionOfValue(e.target.value))}>
      {VISION_CHOICES.map((c) => (
        <option key={c.value} value={c.value}>
          {c.label}
        </option>
      ))}
    </select>
  );
}

export function BackendsView() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const toast = useToast();
  // Health changes on its own (periodic checks, failing requests): poll while the page is open.
  const backends = useQuery({ ...trpc.backends.list.queryOptions(), refetchInterval: 5000 });
  const [adding, setAdding] = useState(false);
  const [removing, setRemoving] = useState<{ id: string; name: string } | null>(null);
  const [access, setAccess] = useState<{ id: string; name: string; public: boolean; tenantIds: string[] } | null>(null);
  const [accessError, setAccessError] = useState<string | null>(null);
  const tenants = useQuery(trpc.tenants.list.queryOptions());
  const refresh = () => qc.invalidateQueries({ queryKey: trpc.backends.list.queryKey() });
  const saveAccess = useMutation(
    trpc.backends.setAccess.mutationOptions({
      onSuccess: async () => {
        setAccess(null);
        await refresh();
        toast("Access saved");
      },
      onError: (e) => setAccessError(describeError(e).message),
    }),
  );
  const onError = (e: unknown) => toast(describeError(e).message, "error");
  const check = useMutation(
    trpc.backends.check.mutationOptions({ onSuccess: async (b) => (await refresh(), toast(`${b.name}: ${b.health}`, b.health === "healthy" ? undefined : "error")), onError }),
  );
  const discover = useMutation(trpc.backends.discover.mutationOptions({ onSuccess: async (b) => (await refresh(), toast(`${b.name}: ${b.models.length} models`)), onError }));
  const toggle = useMutation(trpc.backends.update.mutationOptions({ onSuccess: async () => (await refresh(), toast("Saved")), onError }));
  const setVision = useMutation(trpc.backends.update.mutationOptions({ onSuccess: async (b) => (await refresh(), toast(`${b.name}: image input saved`)), onError }));
  const remove = useMutation(
    trpc.backends.remove.mutationOptions({
      onSuccess: async () => {
        await refresh();
        setRemoving(null);
        toast("Backend removed");
      },
      onError,
    }),
  );

  return (
    <>
      <TopBar crumbs={[{ label: "Backends" }]} />
      <div className="content">
        <div className="page-head">
          <div>
            <h1>Remote backends</h1>
            <p>OpenAI-compatible servers (llama-server, vLLM, Ollama, OpenAI…) that tenants&apos; aliases can route to. A failing backend is skipped until a health check succeeds.</p>
          </div>
          <button type="button" className="btn btn-primary" onClick={() => setAdding(true)}>
            Add backend
          </button>
        </div>
        {backends.error && <Alert>{describeError(backends.error).message}</Alert>}
        <div className="panel">
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th>Backend</th>
                  <th>Health</th>
                  <th>Models</th>
                  <th>Image input</th>
                  <th>Timeouts</th>
                  <th className="actions">Actions</th>
                </tr>
              </thead>
              <tbody>
                {backends.isPending && <SkeletonRows cols={6} />}
                {backends.data?.map((b) => (
                  <tr key={b.id} data-testid={`backend-${b.name}`}>
                    <td>
                      <strong>{b.name}</strong> {!b.enabled && <Badge tone="warn">disabled</Badge>}
                      <div className="sub mono">{b.baseUrl}</div>
                      <div className="sub">{b.hasCredential ? "credential set (never shown)" : "no credential"}</div>
                      <div className="sub">{b.public ? "every tenant may route to it" : `${b.tenantIds.length} tenant${b.tenantIds.length === 1 ? "" : "s"} may route to it`}</div>
                    </td>
                    <td>
                      <Badge tone={healthTone(b.health)}>{b.health}</Badge>
                      {b.latencyMs !== null && <span className="sub"> {b.latencyMs} ms</span>}
                      <div className="sub">checked {b.lastCheckedAt ? formatDate(b.lastCheckedAt) : "never"}</div>
                      {b.lastError && <div className="sub">{b.lastError}</div>}
                    </td>
                    <td>
                      <span className="sub mono">{b.models.length ? b.models.slice(0, 5).join(", ") + (b.models.length > 5 ? ` +${b.models.length - 5}` : "") : "—"}</span>
                    </td>
                    <td>
                      <VisionSelect
                        id={`vision-${b.name}`}
                        value={b.vision}
                        disabled={setVision.isPending}
                        onChange={(vision) => setVision.mutate({ id: b.id, vision })}
                      />
                      <div className="sub" data-testid={`vision-models-${b.name}`}>
                        {b.visionModels.length
                          ? `upstream says these take images: ${b.visionModels.slice(0, 5).join(", ")}${b.visionModels.length > 5 ? ` +${b.visionModels.length - 5}` : ""}`
                          : "upstream lists no image models"}
                        {b.vision === null ? "" : " (your choice above applies to every model)"}
                      </div>
                    </td>
                    <td className="sub">
                      connect {b.connectTimeoutMs / 1000}s · first token {b.firstTokenTimeoutMs / 1000}s · total {b.totalTimeoutMs / 1000}s
                    </td>
                    <td className="actions">
                      <button type="button" className="btn btn-sm" disabled={check.isPending} onClick={() => check.mutate({ id: b.id })}>
                        Check
                      </button>{" "}
                      <button type="button" className="btn btn-sm" disabled={discover.isPending} onClick={() => discover.mutate({ id: b.id })}>
                        Discover models
                      </button>{" "}
                      <button
                        type="button"
                        className="btn btn-sm"
                        onClick={() => {
                          setAccessError(null);
                          setAccess({ id: b.id, name: b.name, public: b.public, tenantIds: b.tenantIds });
                        }}
                      >
                        Access
                      </button>{" "}
                      <button type="button" className="btn btn-sm" onClick={() => toggle.mutate({ id: b.id, enabled: !b.enabled })}>
                        {b.enabled ? "Disable" : "Enable"}
                      </button>{" "}
                      <button type="button" className="btn btn-sm btn-danger" onClick={() => setRemoving({ id: b.id, name: b.name })}>
                        Remove
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {backends.data?.length === 0 && (
              <EmptyState title="No remote backends">
                <p>Add an OpenAI-compatible base URL; its models are discovered from its /models.</p>
              </EmptyState>
            )}
          </div>
        </div>
      </div>
      {access && (
        <AccessDialog
          title={`Which tenants may route to ${access.name}?`}
          value={access}
          tenants={tenants.data ?? []}
          busy={saveAccess.isPending}
          error={accessError}
          onSave={(v) => saveAccess.mutate({ id: access.id, ...v })}
          onClose={() => setAccess(null)}
        />
      )}
      <AddBackendDialog open={adding} onClose={() => setAdding(false)} onAdded={async (name) => (setAdding(false), await refresh(), toast(`${name} added`))} />
      <ConfirmDialog
        open={removing !== null}
        title={`Remove ${removing?.name ?? ""}?`}
        description="Refused while an alias targets it. Its stored credential is deleted."
        confirmLabel="Remove backend"
        danger
        busy={remove.isPending}
        onConfirm={() => removing && remove.mutate({ id: removing.id })}
        onClose={() => setRemoving(null)}
      />
    </>
  );
}

function AddBackendDialog({ open, onClose, onAdded }: { open: boolean; onClose: () => void; onAdded: (name: string) => void }) {
  const trpc = useTRPC();
  const form = useZodForm(CreateBackendInput, {
    name: "",
    baseUrl: "",
    credential: undefined,
    connectTimeoutMs: 5000,
    firstTokenTimeoutMs: 60_000,
    totalTimeoutMs: 600_000,
    public: false,
    vision: null,
  });
  const [error, setError] = useState<string | null>(null);
  const add = useMutation(
    trpc.backends.create.mutationOptions({
      onSuccess: (b) => {
        form.reset();
        onAdded(b.name);
      },
      onError: (e) => {
        const d = describeError(e);
        form.setServerErrors(d.fields);
        setError(d.message);
      },
    }),
  );
  return (
    <FormDialog
      open={open}
      onClose={onClose}
      title="Add a remote backend"
      description="Any OpenAI-compatible API. Its models are discovered from GET {base URL}/models."
      error={error}
      onSubmit={() => {
        const v = form.validate();
        if (!v) return;
        setError(null);
        add.mutate(v);
      }}
      submitLabel="Add backend"
      busyLabel="Adding…"
      busy={add.isPending}
    >
      <Field label="Name" id="name" error={form.errorFor("name")} hint="e.g. gpu-box-1">
        <input className="input" autoFocus {...form.bind("name")} />
      </Field>
      <Field label="Base URL" id="baseUrl" error={form.errorFor("baseUrl")} hint="Up to and including /v1, e.g. http://10.0.0.5:8080/v1">
        <input className="input mono" {...form.bind("baseUrl")} />
      </Field>
      <Field label="Credential (optional)" id="credential" error={form.errorFor("credential")} hint="Sent as a bearer token; encrypted at rest and never shown again">
        <input
          className="input mono"
          type="password"
          autoComplete="off"
          {...form.bind("credential")}
          onChange={(e) => form.setValues((v) => ({ ...v, credential: e.target.value === "" ? undefined : e.target.value }))}
        />
      </Field>
      <div className="row">
        <Field label="Connect timeout (ms)" id="connectTimeoutMs" error={form.errorFor("connectTimeoutMs")}>
          <input className="input" {...form.bindNumber("connectTimeoutMs")} />
        </Field>
        <Field label="First token (ms)" id="firstTokenTimeoutMs" error={form.errorFor("firstTokenTimeoutMs")}>
          <input className="input" {...form.bindNumber("firstTokenTimeoutMs")} />
        </Field>
        <Field label="Total (ms)" id="totalTimeoutMs" error={form.errorFor("totalTimeoutMs")}>
          <input className="input" {...form.bindNumber("totalTimeoutMs")} />
        </Field>
      </div>
      <Field
        label="Image input"
        id="vision"
        error={form.errorFor("vision")}
        hint="Text only: requests with images skip it. Not declared: they are forwarded and the upstream decides (models its /models lists as taking images count as accepting them)."
      >
        <VisionSelect id="vision" value={form.values.vision} onChange={(vision) => form.setValues((v) => ({ ...v, vision }))} />
      </Field>
      <Check checked={form.values.public === true} onChange={(checked) => form.setValues((v) => ({ ...v, public: checked }))}>
        Every tenant may route to it <span className="sub">(otherwise choose tenants with Access; its cost is yours)</span>
      </Check>
    </FormDialog>
  );
}

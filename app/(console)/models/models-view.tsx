"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { AddModelInput } from "@/server/services/models/schemas";
import { Field } from "../../_components/form";
import { FormDialog } from "../../_components/form-dialog";
import { Alert, Badge, ConfirmDialog, EmptyState, SkeletonRows, useToast } from "../../_components/ui";
import { AccessDialog } from "../../_components/access-dialog";
import { useZodForm } from "../../_components/use-zod-form";
import { describeError } from "../../_lib/errors";
import { useTRPC } from "../../_lib/trpc";
import { TopBar } from "../shell";

const size = (b: number | null) =>
  b === null ? "—" : b >= 1 << 30 ? `${(b / (1 << 30)).toFixed(1)} GB` : b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)} MB` : `${Math.round(b / 1024)} KB`;

export function ModelsView() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const toast = useToast();
  // Runtime state (loading, slots, queue) moves on its own: poll while the page is open.
  const models = useQuery({ ...trpc.models.list.queryOptions(), refetchInterval: 3000 });
  const tenants = useQuery(trpc.tenants.list.queryOptions());
  const engine = useQuery({ ...trpc.models.engine.queryOptions(), refetchInterval: 15_000 });
  const [adding, setAdding] = useState(false);
  const [removing, setRemoving] = useState<string | null>(null);
  const [access, setAccess] = useState<{ name: string; public: boolean; tenantIds: string[] } | null>(null);
  const refresh = () => qc.invalidateQueries({ queryKey: trpc.models.list.queryKey() });
  const onError = (e: unknown) => toast(describeError(e).message, "error");
  const load = useMutation(trpc.models.load.mutationOptions({ onSuccess: async (_, v) => (await refresh(), toast(`${v.name} loaded`)), onError }));
  const unload = useMutation(trpc.models.unload.mutationOptions({ onSuccess: async (_, v) => (await refresh(), toast(`${v.name} unloaded`)), onError }));
  const pull = useMutation(trpc.models.pull.mutationOptions({ onSuccess: async (_, v) => (await refresh(), toast(`Downloading ${v.name}…`)), onError }));
  const remove = useMutation(
    trpc.models.remove.mutationOptions({
      onSuccess: async (_, v) => {
        await refresh();
        setRemoving(null);
        toast(`${v.name} removed`);
      },
      onError,
    }),
  );

  return (
    <>
      <TopBar crumbs={[{ label: "Models" }]} />
      <div className="content">
        <div className="page-head">
          <div>
            <h1>Models</h1>
            <p>GGUF models served by this server&apos;s llama.cpp, and who may use them.</p>
          </div>
          <button type="button" className="btn btn-primary" onClick={() => setAdding(true)}>
            Add model
          </button>
        </div>
        {models.error && <Alert>{describeError(models.error).message}</Alert>}
        {engine.data && <EngineLine status={engine.data} />}
        <div className="panel">
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th>Model</th>
                  <th>Status</th>
                  <th className="num">Memory</th>
                  <th className="num">Slots busy</th>
                  <th className="num">Queued</th>
                  <th>Access</th>
                  <th className="actions">Actions</th>
                </tr>
              </thead>
              <tbody>
                {models.isPending && <SkeletonRows cols={7} />}
                {models.data?.map((m) => {
                  const state = m.runtime?.state ?? "unloaded";
                  const busy = (load.isPending && load.variables?.name === m.name) || (unload.isPending && unload.variables?.name === m.name);
                  return (
                    <tr key={m.id} data-testid={`model-${m.name}`}>
                      <td>
                        <strong>{m.name}</strong> <span className="sub">{m.kind}</span>
                        <div className="sub mono" title={m.source}>
                          {m.source.length > 60 ? `…${m.source.slice(-60)}` : m.source}
                        </div>
                        <div className="sub">
                          ctx {m.contextSize} · {m.parallel} parallel · {m.threads ?? "default"} threads · file {size(m.sizeBytes)}
                        </div>
                      </td>
                      <td>
                        <Badge tone={state === "ready" ? "ok" : state === "failed" ? "danger" : state === "loading" ? "accent" : undefined}>{state === "ready" ? "loaded" : state}</Badge>
                        {m.runtime?.error && <div className="sub">{m.runtime.error}</div>}
                        {m.state !== "ready" && <div className="sub">file: {m.state.replace("_", " ")}</div>}
                        {m.download && (
                          <div className="meter" role="progressbar" aria-label={`Download of ${m.name}`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={m.download.totalBytes ? Math.round((m.download.downloadedBytes / m.download.totalBytes) * 100) : 0}>
                            <div className="meter-fill" style={{ width: `${m.download.totalBytes ? (m.download.downloadedBytes / m.download.totalBytes) * 100 : 0}%` }} />
                          </div>
                        )}
                        {m.download && <div className="sub">{size(m.download.downloadedBytes)} of {size(m.download.totalBytes || null)}</div>}
                        {m.lastError && <div className="sub">{m.lastError}</div>}
                      </td>
                      <td className="num">{size(m.runtime?.sizeBytes ?? null)}</td>
                      <td className="num">{m.runtime ? `${m.runtime.active} / ${m.runtime.slots}` : "—"}</td>
                      <td className="num">{m.runtime?.queued ?? "—"}</td>
                      <td>
                        {m.public ? <Badge>all tenants</Badge> : <Badge tone="warn">{m.tenantIds.length} tenant{m.tenantIds.length === 1 ? "" : "s"}</Badge>}
                      </td>
                      <td className="actions">
                        {m.source.startsWith("hf:") && m.state !== "downloading" ? (
                          <button type="button" className="btn btn-sm" disabled={pull.isPending} onClick={() => pull.mutate({ name: m.name })}>
                            Download
                          </button>
                        ) : state === "ready" || state === "loading" ? (
                          <button type="button" className="btn btn-sm" disabled={busy} onClick={() => unload.mutate({ name: m.name })}>
                            Unload
                          </button>
                        ) : (
                          <button type="button" className="btn btn-sm" disabled={busy} onClick={() => load.mutate({ name: m.name })}>
                            {busy ? "Loading…" : "Load"}
                          </button>
                        )}{" "}
                        <button type="button" className="btn btn-sm" onClick={() => setAccess({ name: m.name, public: m.public, tenantIds: m.tenantIds })}>
                          Access
                        </button>{" "}
                        <button type="button" className="btn btn-sm btn-danger" onClick={() => setRemoving(m.name)}>
                          Remove
                        </button>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            {models.data?.length === 0 && (
              <EmptyState title="No models yet">
                <p>Add a GGUF file by its path, or pull one with `npm run cli -- model pull`.</p>
              </EmptyState>
            )}
          </div>
        </div>
      </div>
      <AddModelDialog open={adding} onClose={() => setAdding(false)} onAdded={async (name) => (setAdding(false), await refresh(), toast(`${name} added`))} />
      {access && (
        <ModelAccess
          value={access}
          tenants={tenants.data ?? []}
          onClose={() => setAccess(null)}
          onSaved={async () => (setAccess(null), await refresh(), toast("Access saved"))}
        />
      )}
      <ConfirmDialog
        open={removing !== null}
        title={`Remove ${removing ?? ""}?`}
        description="Requests for it fail with 404 from now on. The GGUF file is not deleted."
        confirmLabel="Remove model"
        danger
        busy={remove.isPending}
        onConfirm={() => removing && remove.mutate({ name: removing })}
        onClose={() => setRemoving(null)}
      />
    </>
  );
}

function AddModelDialog({ open, onClose, onAdded }: { open: boolean; onClose: () => void; onAdded: (name: string) => void }) {
  const trpc = useTRPC();
  const form = useZodForm(AddModelInput, { name: "", source: "", kind: "chat", contextSize: 4096, parallel: 4, threads: null });
  const [error, setError] = useState<string | null>(null);
  const add = useMutation(
    trpc.models.add.mutationOptions({
      onSuccess: (m) => {
        form.reset();
        onAdded(m.name);
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
      title="Add a model"
      description="A GGUF file on this server's disk, or an hf: URI to download."
      error={error}
      onSubmit={() => {
        const v = form.validate();
        if (!v) return;
        setError(null);
        add.mutate(v);
      }}
      submitLabel="Add model"
      busyLabel="Adding…"
      busy={add.isPending}
    >
      <Field label="Name" id="name" error={form.errorFor("name")} hint="What callers put in “model”">
        <input className="input" autoFocus {...form.bind("name")} />
      </Field>
      <Field label="GGUF path or hf: URI" id="source" error={form.errorFor("source")} hint="e.g. /models/llama-3-8b.Q4_K_M.gguf, or hf:user/repo/file.gguf (then Download)">
        <input className="input mono" {...form.bind("source")} />
      </Field>
      <div className="row">
        <Field label="Kind" id="kind" error={form.errorFor("kind")}>
          <select className="select" {...form.bind("kind")}>
            <option value="chat">chat</option>
            <option value="embedding">embedding</option>
          </select>
        </Field>
        <Field label="Context size" id="contextSize" error={form.errorFor("contextSize")}>
          <input className="input" {...form.bindNumber("contextSize")} />
        </Field>
        <Field label="Parallel" id="parallel" error={form.errorFor("parallel")}>
          <input className="input" {...form.bindNumber("parallel")} />
        </Field>
        <Field label="Threads" id="threads" error={form.errorFor("threads")} hint="empty = default">
          <input className="input" {...form.bindNumber("threads", null)} />
        </Field>
      </div>
    </FormDialog>
  );
}

function ModelAccess({
  value,
  tenants,
  onClose,
  onSaved,
}: {
  value: { name: string; public: boolean; tenantIds: string[] };
  tenants: { id: string; name: string; slug: string }[];
  onClose: () => void;
  onSaved: () => void;
}) {
  const trpc = useTRPC();
  const [error, setError] = useState<string | null>(null);
  const save = useMutation(trpc.models.setAccess.mutationOptions({ onSuccess: onSaved, onError: (e) => setError(describeError(e).message) }));
  return (
    <AccessDialog
      title={`Who may use ${value.name}?`}
      value={value}
      tenants={tenants}
      busy={save.isPending}
      error={error}
      onSave={(v) => save.mutate({ name: value.name, ...v })}
      onClose={onClose}
    />
  );
}

type EngineStatusView = {
  binary: string | null;
  fallbackReason: string | null;
  defaultThreads: number | null;
  nativeBuildReady: boolean;
  autoBuild: { state: string; startedAt: string; finishedAt: string | null } | null;
};

/** Which llama.cpp engine serves, and what the background native build is doing (server/inference/auto-build.ts). */
function EngineLine({ status }: { status: EngineStatusView }) {
  const b = status.autoBuild;
  const engine =
    status.binary === null
      ? "Engine: loads with the first model"
      : `Engine: ${status.binary === "native" ? "native build for this CPU" : `${status.binary} llama.cpp`} · ${status.defaultThreads} thread(s) per model by default`;
  const build =
    status.binary === "native"
      ? null
      : status.nativeBuildReady
        ? "A native build is ready: it is used from the next start of the server."
        : b?.state === "building"
          ? `Compiling a native build in the background since ${new Date(b.startedAt).toLocaleTimeString()} (used from the next start).`
          : b?.state === "failed"
            ? "The background native build failed; run `npm run cli -- engine build`."
            : null;
  return (
    <p className="sub" data-testid="engine-status">
      {engine}
      {build ? ` — ${build}` : ""}
    </p>
  );
}

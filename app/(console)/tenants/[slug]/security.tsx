"use client";
/**
 * Key security in the console: a key's signed requests (on/off, secret rotation with a
 * grace period) and IP allowlist (the key dialog), and the tenant's IP allowlist
 * (tenant settings). Secrets are shown once, by the caller's ShowOnce dialog.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { IpAllowlist, RotateSigningSecretInput, splitAllowlist } from "@/server/services/api-keys/schemas";
import { Field, Fieldset, FormFooter, TextField } from "../../../_components/form";
import { Alert, Badge, Dialog, formatDate, useToast } from "../../../_components/ui";
import { describeError } from "../../../_lib/errors";
import { useTRPC } from "../../../_lib/trpc";
import { type Grace, GraceSelect } from "./grace-select";

export interface KeyRef {
  id: string;
  name: string;
  signingRequired: boolean;
  signingPreviousUntil: Date | null;
  ipAllowlist: string[] | null;
}

/** Parses the textarea with the server's schema; an error message or the list (null = none). */
function parseList(text: string): { ok: true; list: string[] | null } | { ok: false; message: string } {
  const r = IpAllowlist.safeParse(splitAllowlist(text));
  return r.success ? { ok: true, list: r.data } : { ok: false, message: r.error.issues[0]!.message };
}

export function KeySecurityDialog({
  tenantId,
  keyRef,
  onClose,
  onChanged,
  onSecret,
}: {
  tenantId: string;
  keyRef: KeyRef;
  onClose: () => void;
  onChanged: () => Promise<unknown>;
  onSecret: (secret: string, note: string) => void;
}) {
  const trpc = useTRPC();
  const toast = useToast();
  const [grace, setGrace] = useState<Grace>("3600");
  const [list, setList] = useState((keyRef.ipAllowlist ?? []).join("\n"));
  const [listError, setListError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const onError = (e: unknown) => setError(describeError(e).message);

  const enable = useMutation(
    trpc.apiKeys.enableSigning.mutationOptions({
      onSuccess: async (r) => {
        await onChanged();
        onSecret(r.secret, "Copy it now: it will not be shown again. Every request with this key must now be signed with it.");
      },
      onError,
    }),
  );
  const rotate = useMutation(
    trpc.apiKeys.rotateSigningSecret.mutationOptions({
      onSuccess: async (r) => {
        await onChanged();
        const until = r.apiKey.signingPreviousUntil;
        onSecret(r.secret, `Copy it now: it will not be shown again. ${until ? `The previous secret signs until ${formatDate(until)}.` : "The previous secret no longer signs."}`);
      },
      onError,
    }),
  );
  const disable = useMutation(
    trpc.apiKeys.disableSigning.mutationOptions({
      onSuccess: async () => {
        await onChanged();
        toast("Signed requests turned off");
        onClose();
      },
      onError,
    }),
  );
  const saveList = useMutation(
    trpc.apiKeys.setIpAllowlist.mutationOptions({
      onSuccess: async (k) => {
        await onChanged();
        toast(k.ipAllowlist ? `IP allowlist saved (${k.ipAllowlist.length})` : "IP allowlist removed");
        onClose();
      },
      onError: (e) => setListError(describeError(e).message),
    }),
  );

  return (
    <Dialog open onClose={onClose} title={`Security of "${keyRef.name}"`} description="Signed requests and the addresses this key may be used from.">
      <Alert>{error}</Alert>
      <Fieldset
        testId="key-signing"
        legend={
          <>
            Signed requests{" "}
            {keyRef.signingRequired ? <Badge tone="ok">required</Badge> : <Badge>off</Badge>}
          </>
        }
      >
        <p className="sub">
          With signing on, a request must carry <code>X-Switchyard-Signature</code> made with the key&apos;s signing secret: the key alone is
          useless, and a captured request cannot be replayed. See the docs for the format and an <code>openai</code> SDK helper.
        </p>
        {keyRef.signingPreviousUntil && <p className="sub">The previous secret still signs until {formatDate(keyRef.signingPreviousUntil)}.</p>}
        {!keyRef.signingRequired ? (
          <button type="button" className="btn btn-primary" disabled={enable.isPending} onClick={() => enable.mutate({ tenantId, keyId: keyRef.id })}>
            {enable.isPending ? "Turning on…" : "Require signed requests"}
          </button>
        ) : (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              const input = RotateSigningSecretInput.safeParse({ keyId: keyRef.id, graceSeconds: Number(grace) });
              if (!input.success) return setError(input.error.issues[0]!.message);
              rotate.mutate({ tenantId, ...input.data });
            }}
          >
            <Field label="Previous secret keeps signing for" id="signing-grace">
              <GraceSelect id="signing-grace" value={grace} onChange={setGrace} />
            </Field>
            <FormFooter submitLabel="Rotate secret" busyLabel="Rotating…" busy={rotate.isPending}>
              <button type="button" className="btn btn-danger" disabled={disable.isPending} onClick={() => disable.mutate({ tenantId, keyId: keyRef.id })}>
                Turn off
              </button>
            </FormFooter>
          </form>
        )}
      </Fieldset>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          const parsed = parseList(list);
          if (!parsed.ok) return setListError(parsed.message);
          setListError(null);
          saveList.mutate({ tenantId, keyId: keyRef.id, ipAllowlist: parsed.list });
        }}
      >
        <TextField
          label="IP allowlist"
          id="key-ip-allowlist"
          error={listError ?? undefined}
          hint="Addresses or CIDR ranges, IPv4 or IPv6, one per line or comma-separated (e.g. 203.0.113.0/24, 2001:db8::/32). Empty = any address. The tenant's list applies too."
          className="input mono"
          rows={4}
          value={list}
          onChange={setList}
        />
        <FormFooter onCancel={onClose} cancelLabel="Close" submitLabel="Save allowlist" busy={saveList.isPending} />
      </form>
    </Dialog>
  );
}

export function TenantIpAllowlist({ tenantId, editable }: { tenantId: string; editable: boolean }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const toast = useToast();
  const security = useQuery(trpc.tenants.security.queryOptions({ tenantId }));
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const save = useMutation(
    trpc.tenants.setIpAllowlist.mutationOptions({
      onSuccess: async (r) => {
        await qc.invalidateQueries({ queryKey: trpc.tenants.security.queryKey({ tenantId }) });
        setText(null);
        toast(r.ipAllowlist ? `IP allowlist saved (${r.ipAllowlist.length})` : "IP allowlist removed");
      },
      onError: (e) => setError(describeError(e).message),
    }),
  );
  const value = text ?? (security.data?.ipAllowlist ?? []).join("\n");
  return (
    <div className="panel" data-testid="tenant-ip-allowlist">
      <div className="panel-head">
        <div>
          <h2>IP allowlist</h2>
          <p>Every API key of this tenant may only be used from these addresses (a key can narrow it further).</p>
        </div>
      </div>
      <div className="panel-body" style={{ maxWidth: 480 }}>
        {security.error ? (
          <Alert>{describeError(security.error).message}</Alert>
        ) : (
          <form
            noValidate
            onSubmit={(e) => {
              e.preventDefault();
              const parsed = parseList(value);
              if (!parsed.ok) return setError(parsed.message);
              setError(null);
              save.mutate({ tenantId, ipAllowlist: parsed.list });
            }}
          >
            <TextField
              label="Addresses and ranges"
              id="tenant-ip-allowlist"
              error={error ?? undefined}
              hint="IPv4 or IPv6 CIDRs, one per line. Empty = any address."
              className="input mono"
              rows={4}
              disabled={!editable || security.isPending}
              value={value}
              onChange={setText}
            />
            {editable && <FormFooter submitLabel="Save allowlist" busy={save.isPending} />}
          </form>
        )}
      </div>
    </div>
  );
}

"use client";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ConfirmDialog, useToast } from "../../../../_components/ui";
import { describeError } from "../../../../_lib/errors";
import { useTRPC } from "../../../../_lib/trpc";

/** Platform admins suspend a tenant (its keys stop working) or reactivate it. */
export function StatusToggle({ tenantId, status, slug }: { tenantId: string; status: string; slug: string }) {
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

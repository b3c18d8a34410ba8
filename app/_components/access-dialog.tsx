"use client";
import { useState } from "react";
import { Check, Fieldset, FormFooter } from "./form";
import { Alert, Dialog } from "./ui";

/**
 * Who may use a platform resource (a model, a backend): every tenant, or the ones
 * ticked. The caller saves; this only edits.
 */
export function AccessDialog({
  title,
  value,
  tenants,
  busy,
  error,
  onSave,
  onClose,
}: {
  title: string;
  value: { public: boolean; tenantIds: string[] };
  tenants: { id: string; name: string; slug: string }[];
  busy: boolean;
  error: string | null;
  onSave: (v: { public: boolean; tenantIds: string[] }) => void;
  onClose: () => void;
}) {
  const [isPublic, setPublic] = useState(value.public);
  const [chosen, setChosen] = useState<string[]>(value.tenantIds);
  return (
    <Dialog open onClose={onClose} title={title}>
      <Alert>{error}</Alert>
      <Check checked={isPublic} onChange={setPublic}>
        Every tenant
      </Check>
      {!isPublic && (
        <Fieldset legend="Only these tenants" className="checks-list">
          {tenants.length === 0 && <span className="sub">No tenants yet.</span>}
          {tenants.map((t) => (
            <Check key={t.id} checked={chosen.includes(t.id)} onChange={(checked) => setChosen((c) => (checked ? [...c, t.id] : c.filter((x) => x !== t.id)))}>
              {t.name} <span className="sub mono">{t.slug}</span>
            </Check>
          ))}
        </Fieldset>
      )}
      <FormFooter onCancel={onClose} submitLabel="Save" busy={busy} onSubmit={() => onSave({ public: isPublic, tenantIds: isPublic ? [] : chosen })} />
    </Dialog>
  );
}

"use client";
import { useState } from "react";
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
      <label className="check">
        <input type="checkbox" checked={isPublic} onChange={(e) => setPublic(e.target.checked)} /> Every tenant
      </label>
      {!isPublic && (
        <fieldset className="field checks-list">
          <legend>Only these tenants</legend>
          {tenants.length === 0 && <span className="sub">No tenants yet.</span>}
          {tenants.map((t) => (
            <label key={t.id} className="check">
              <input
                type="checkbox"
                checked={chosen.includes(t.id)}
                onChange={(e) => setChosen((c) => (e.target.checked ? [...c, t.id] : c.filter((x) => x !== t.id)))}
              />{" "}
              {t.name} <span className="sub mono">{t.slug}</span>
            </label>
          ))}
        </fieldset>
      )}
      <div className="form-actions">
        <button type="button" className="btn" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="btn btn-primary" disabled={busy} onClick={() => onSave({ public: isPublic, tenantIds: isPublic ? [] : chosen })}>
          {busy ? "Saving…" : "Save"}
        </button>
      </div>
    </Dialog>
  );
}

"use client";

/** How long a replaced secret keeps working: the API key's rotation and the signing secret's use the same choices. */
export const GRACE = { "0": "End it now", "900": "15 minutes", "3600": "1 hour", "86400": "24 hours", "604800": "7 days" } as const;
export type Grace = keyof typeof GRACE;

export function GraceSelect({ id, value, onChange }: { id: string; value: Grace; onChange: (v: Grace) => void }) {
  return (
    <select id={id} className="select" value={value} onChange={(e) => onChange(e.target.value as Grace)}>
      {Object.entries(GRACE).map(([v, label]) => (
        <option key={v} value={v}>
          {label}
        </option>
      ))}
    </select>
  );
}

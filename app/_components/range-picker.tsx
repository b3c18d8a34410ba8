"use client";

/** The "Last 24h / Last 7d / …" switch above usage figures. */
export function RangePicker<R extends string>({ ranges, value, onChange }: { ranges: readonly R[]; value: R; onChange: (range: R) => void }) {
  return (
    <div className="segmented" role="group" aria-label="Time range">
      {ranges.map((r) => (
        <button key={r} type="button" aria-pressed={value === r} onClick={() => onChange(r)}>
          Last {r}
        </button>
      ))}
    </div>
  );
}

import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createdSlots, processSlot } from "./registry";

describe("processSlot", () => {
  it("creates once and hands every declaration the same instance", () => {
    let made = 0;
    const a = processSlot("test.registry", () => ({ n: ++made }));
    const b = processSlot("test.registry", () => ({ n: ++made }));
    expect(a.peek()).toBeUndefined();
    expect(a.get()).toBe(b.get());
    expect(made).toBe(1);
    expect(createdSlots()).toContain("test.registry");
    const prev = b.set({ n: 42 });
    expect(prev).toEqual({ n: 1 });
    expect(a.get().n).toBe(42);
    expect(a.clear()).toEqual({ n: 42 });
    expect(a.peek()).toBeUndefined();
    expect(b.get().n).toBe(2);
    a.clear();
  });

  it("each slot name is declared by exactly one module", () => {
    const root = join(__dirname, "..");
    const owners = new Map<string, string[]>();
    const walk = (dir: string) => {
      for (const f of readdirSync(dir)) {
        const p = join(dir, f);
        if (statSync(p).isDirectory()) {
          if (f !== "generated") walk(p);
        } else if (/\.tsx?$/.test(f) && !/\.test\.tsx?$/.test(f)) {
          for (const m of readFileSync(p, "utf8").matchAll(/processSlot(?:<[^>]*>)?\(\s*"([^"]+)"/g)) {
            const name = m[1] ?? "";
            owners.set(name, [...(owners.get(name) ?? []), p]);
          }
        }
      }
    };
    walk(root);
    const dup = [...owners].filter(([, files]) => files.length > 1);
    expect(dup).toEqual([]);
  });
});

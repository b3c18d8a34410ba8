import { describe, expect, it } from "vitest";
import { afterInsert, afterMove, afterRemove, insertAt, moveItem, reindexKeys, removeAt, update } from "./field-array";

describe("field-array", () => {
  it("inserts, removes and updates rows", () => {
    expect(insertAt(["a", "b"], 1, "x")).toEqual(["a", "x", "b"]);
    expect(insertAt(["a"], 9, "x")).toEqual(["a", "x"]);
    expect(removeAt(["a", "b", "c"], 1)).toEqual(["a", "c"]);
    expect(update([{ k: "a", w: 1 }, { k: "b", w: 2 }], 1, { w: 5 })).toEqual([{ k: "a", w: 1 }, { k: "b", w: 5 }]);
  });

  it("moves a row down and up", () => {
    expect(moveItem(["a", "b", "c", "d"], 0, 2)).toEqual(["b", "c", "a", "d"]);
    expect(moveItem(["a", "b", "c", "d"], 3, 1)).toEqual(["a", "d", "b", "c"]);
    expect(moveItem(["a", "b"], 5, 0)).toEqual(["a", "b"]);
  });

  it("keeps per-row state with its row when rows are removed", () => {
    const touched = { alias: true, "targets.0.key": true, "targets.2.key": true, "targets.2.weight": true, "targets.1": true };
    expect(reindexKeys(touched, "targets", afterRemove(1))).toEqual({ alias: true, "targets.0.key": true, "targets.1.key": true, "targets.1.weight": true });
  });

  it("keeps per-row state with its row when a row is inserted or moved", () => {
    expect(reindexKeys({ "t.0.key": "x", "t.1.key": "y" }, "t", afterInsert(1))).toEqual({ "t.0.key": "x", "t.2.key": "y" });
    const rows = ["a", "b", "c", "d"];
    const errors = Object.fromEntries(rows.map((r, i) => [`t.${i}.key`, r]));
    for (const [from, to] of [
      [0, 2],
      [3, 1],
      [1, 1],
      [2, 9],
    ] as const) {
      const moved = moveItem(rows, from, to);
      const reindexed = reindexKeys(errors, "t", afterMove(from, to, rows.length));
      expect(moved.map((_, i) => reindexed[`t.${i}.key`])).toEqual(moved);
    }
  });

  it("leaves other fields alone, including ones that share the prefix", () => {
    expect(reindexKeys({ targetsNote: 1, "targetsX.0": 2, "targets.0": 3 }, "targets", afterRemove(0))).toEqual({ targetsNote: 1, "targetsX.0": 2 });
  });
});

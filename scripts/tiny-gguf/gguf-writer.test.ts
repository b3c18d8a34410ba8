import { describe, expect, it } from "vitest";
import {
  encodeQ8_0,
  arr,
  bool,
  f32,
  GGUF_MAGIC,
  GgufType,
  i32,
  padding,
  str,
  toFloat16Bits,
  u32,
  u64,
  writeGguf,
  type GgufFile,
} from "./gguf-writer";

/** Just enough of a GGUF reader to check what the writer produced. */
function readBack(buf: Buffer) {
  let o = 0;
  const u32r = () => ((o += 4), buf.readUInt32LE(o - 4));
  const u64r = () => ((o += 8), Number(buf.readBigUInt64LE(o - 8)));
  const strr = () => {
    const n = u64r();
    o += n;
    return buf.toString("utf8", o - n, o);
  };
  const scalar = (type: number): unknown => {
    switch (type) {
      case GgufType.u8:
        return buf.readUInt8((o += 1) - 1);
      case GgufType.u32:
        return u32r();
      case GgufType.i32:
        return buf.readInt32LE((o += 4) - 4);
      case GgufType.f32:
        return buf.readFloatLE((o += 4) - 4);
      case GgufType.bool:
        return buf.readUInt8((o += 1) - 1) === 1;
      case GgufType.string:
        return strr();
      case GgufType.u64:
        return u64r();
      default:
        throw new Error(`type ${type} not handled in test reader`);
    }
  };
  const magic = u32r();
  const version = u32r();
  const nTensors = u64r();
  const nKv = u64r();
  const kv: Record<string, { type: number; itemType?: number; value: unknown }> = {};
  for (let i = 0; i < nKv; i++) {
    const key = strr();
    const type = u32r();
    if (type === GgufType.array) {
      const itemType = u32r();
      const n = u64r();
      kv[key] = { type, itemType, value: Array.from({ length: n }, () => scalar(itemType)) };
    } else {
      kv[key] = { type, value: scalar(type) };
    }
  }
  const tensors: { name: string; dims: number[]; type: number; offset: number }[] = [];
  for (let i = 0; i < nTensors; i++) {
    const name = strr();
    const nDims = u32r();
    const dims = Array.from({ length: nDims }, u64r);
    tensors.push({ name, dims, type: u32r(), offset: u64r() });
  }
  const infoEnd = o;
  return { magic, version, nTensors, nKv, kv, tensors, infoEnd };
}

const sample: GgufFile = {
  metadata: [
    ["general.architecture", str("llama")],
    ["general.alignment", u32(32)],
    ["llama.attention.layer_norm_rms_epsilon", f32(1e-5)],
    ["tokenizer.ggml.add_bos_token", bool(true)],
    ["tokenizer.ggml.tokens", arr("string", ["<unk>", "▁", "é"])],
    ["tokenizer.ggml.token_type", arr("i32", [2, 1, 1])],
    ["tokenizer.ggml.scores", arr("f32", [0, -1.5, -2])],
    ["some.big", u64(2n ** 40n)],
    ["some.signed", i32(-7)],
  ],
  tensors: [
    { name: "a.weight", dims: [3], type: "f32", data: [1, 2, 3] }, // 12 bytes → padded to 32
    { name: "b.weight", dims: [5, 2], type: "f16", data: [0, 1, -2, 0.5, 65504, 1, 1, 1, 1, 1] }, // 20 bytes
    { name: "c.weight", dims: [8], type: "f32", data: new Float32Array(8).fill(0.25) }, // exactly 32
  ],
};

describe("writeGguf", () => {
  const buf = writeGguf(sample);
  const r = readBack(buf);

  it("writes the v3 header", () => {
    expect(buf.subarray(0, 4).toString("latin1")).toBe("GGUF");
    expect(r.magic).toBe(GGUF_MAGIC);
    expect([...buf.subarray(4, 8)]).toEqual([3, 0, 0, 0]);
    expect(r.nTensors).toBe(3);
    expect(r.nKv).toBe(sample.metadata.length);
  });

  it("keeps exact metadata types", () => {
    expect(r.kv["general.architecture"]).toEqual({ type: GgufType.string, value: "llama" });
    expect(r.kv["general.alignment"]).toEqual({ type: GgufType.u32, value: 32 });
    expect(r.kv["llama.attention.layer_norm_rms_epsilon"]?.type).toBe(GgufType.f32);
    expect(r.kv["llama.attention.layer_norm_rms_epsilon"]?.value).toBeCloseTo(1e-5, 10);
    expect(r.kv["tokenizer.ggml.add_bos_token"]).toEqual({ type: GgufType.bool, value: true });
    expect(r.kv["tokenizer.ggml.tokens"]).toEqual({ type: GgufType.array, itemType: GgufType.string, value: ["<unk>", "▁", "é"] });
    expect(r.kv["tokenizer.ggml.token_type"]).toEqual({ type: GgufType.array, itemType: GgufType.i32, value: [2, 1, 1] });
    expect(r.kv["tokenizer.ggml.scores"]).toEqual({ type: GgufType.array, itemType: GgufType.f32, value: [0, -1.5, -2] });
    expect(r.kv["some.big"]).toEqual({ type: GgufType.u64, value: 2 ** 40 });
  });

  it("aligns the data section and every tensor to 32 bytes", () => {
    expect(r.tensors.map((t) => [t.name, t.dims, t.type, t.offset])).toEqual([
      ["a.weight", [3], 0, 0],
      ["b.weight", [5, 2], 1, 32],
      ["c.weight", [8], 0, 64],
    ]);
    const dataStart = r.infoEnd + padding(r.infoEnd, 32);
    expect(dataStart % 32).toBe(0);
    expect(buf.subarray(r.infoEnd, dataStart).every((b) => b === 0)).toBe(true);
    expect(buf.length).toBe(dataStart + 96);
    expect(buf.readFloatLE(dataStart + 8)).toBe(3);
    expect(buf.subarray(dataStart + 12, dataStart + 32).every((b) => b === 0)).toBe(true);
    expect(buf.readUInt16LE(dataStart + 32 + 2)).toBe(0x3c00); // f16 1.0
    expect(buf.readUInt16LE(dataStart + 32 + 8)).toBe(0x7bff); // f16 65504
    expect(buf.readFloatLE(dataStart + 64 + 28)).toBe(0.25);
  });

  it("is deterministic", () => {
    expect(writeGguf(sample).equals(buf)).toBe(true);
  });

  it("rejects inconsistent input", () => {
    expect(() => writeGguf({ metadata: [], tensors: [{ name: "x", dims: [4], type: "f32", data: [1, 2, 3] }] })).toThrow(
      /4 elements/,
    );
    expect(() =>
      writeGguf({
        metadata: [
          ["k", u32(1)],
          ["k", u32(2)],
        ],
        tensors: [],
      }),
    ).toThrow(/duplicate/);
    expect(() => writeGguf({ metadata: [["k", u32(-1)]], tensors: [] })).toThrow(/u32/);
    expect(() => writeGguf({ metadata: [["k", u32(1.5)]], tensors: [] })).toThrow(/u32/);
    expect(() => writeGguf({ metadata: [["general.alignment", u32(64)]], tensors: [] })).toThrow(/alignment/);
  });
});

describe("toFloat16Bits", () => {
  it.each([
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [0.1, 0x2e66],
    [65504, 0x7bff],
    [65520, 0x7c00], // rounds up to infinity
    [1e6, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -14, 0x0400], // smallest normal
    [1e-9, 0x0000],
  ])("%d → %s", (value, bits) => {
    expect(toFloat16Bits(value)).toBe(bits);
  });
  it("encodes NaN as a NaN", () => {
    const b = toFloat16Bits(NaN);
    expect(b & 0x7c00).toBe(0x7c00);
    expect(b & 0x3ff).not.toBe(0);
  });
});

describe("encodeQ8_0", () => {
  it("writes ggml's block layout: f16 scale max|x|/127, then 32 rounded int8", () => {
    const data = Float32Array.from({ length: 64 }, (_, i) => (i < 32 ? (i - 16) / 16 : 0));
    const out = Buffer.alloc(2 * 34);
    encodeQ8_0(data, out);
    expect(out.readUInt16LE(0)).toBe(toFloat16Bits(1 / 127));
    expect(out.readInt8(2)).toBe(-127); // -1
    expect(out.readInt8(2 + 16)).toBe(0);
    expect(out.readInt8(2 + 24)).toBe(Math.round(0.5 * 127));
    expect(out.readUInt16LE(34)).toBe(0); // an all-zero block has scale 0
  });

  it("needs rows that are whole blocks", () => {
    expect(() =>
      writeGguf({ metadata: [["general.alignment", u32(32)]], tensors: [{ name: "t", dims: [16, 2], type: "q8_0", data: new Float32Array(32) }] }),
    ).toThrow(/multiple of 32/);
  });
});

/**
 * A minimal GGUF v3 writer: enough to produce a llama.cpp-loadable model from
 * plain arrays (see /work/shared/NOTES.md §12 and ggml's docs/gguf.md).
 *
 * Layout written (all little-endian):
 *   "GGUF" u32(3) u64(tensor_count) u64(kv_count)
 *   kv*:          string key, u32 value_type, value
 *   tensor_info*: string name, u32 n_dims, u64 dims[n_dims] (ggml order: ne[0] is
 *                 the contiguous one), u32 ggml_type, u64 offset (from data start)
 *   zero padding up to `alignment`
 *   tensor data, back to back in tensor-info order, each padded to `alignment`
 * A string is u64 byte length + UTF-8 bytes (no terminator); an array is
 * u32 item_type, u64 count, items.
 *
 * Metadata values carry their exact GGUF type (llama.cpp rejects e.g. an i32 where
 * it expects a u32), so build them with the helpers `u32()`, `f32()`, `bool()`,
 * `str()`, `arr()`…. Pure: no I/O.
 */

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** GGUF metadata value types (gguf_type). */
export const GgufType = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;
export type GgufScalarType = Exclude<keyof typeof GgufType, "array">;

/** ggml tensor types this writer can encode. */
export const GgmlType = { f32: 0, f16: 1, q8_0: 8 } as const;
export type GgmlTypeName = keyof typeof GgmlType;

export type GgufScalar =
  | { type: Exclude<GgufScalarType, "string" | "bool" | "u64" | "i64">; value: number }
  | { type: "u64" | "i64"; value: bigint | number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string };
export type GgufArray = {
  type: "array";
  itemType: GgufScalarType;
  values: readonly (number | bigint | boolean | string)[];
};
export type GgufValue = GgufScalar | GgufArray;

export const u8 = (value: number): GgufValue => ({ type: "u8", value });
export const i8 = (value: number): GgufValue => ({ type: "i8", value });
export const u16 = (value: number): GgufValue => ({ type: "u16", value });
export const i16 = (value: number): GgufValue => ({ type: "i16", value });
export const u32 = (value: number): GgufValue => ({ type: "u32", value });
export const i32 = (value: number): GgufValue => ({ type: "i32", value });
export const f32 = (value: number): GgufValue => ({ type: "f32", value });
export const f64 = (value: number): GgufValue => ({ type: "f64", value });
export const u64 = (value: bigint | number): GgufValue => ({ type: "u64", value });
export const i64 = (value: bigint | number): GgufValue => ({ type: "i64", value });
export const bool = (value: boolean): GgufValue => ({ type: "bool", value });
export const str = (value: string): GgufValue => ({ type: "string", value });
export const arr = (itemType: GgufScalarType, values: readonly (number | bigint | boolean | string)[]): GgufValue => ({
  type: "array",
  itemType,
  values,
});

export type GgufTensor = {
  /** e.g. "token_embd.weight" */
  name: string;
  /** ggml order: dims[0] is the contiguous (fastest-varying) dimension. */
  dims: readonly number[];
  /** storage type in the file; data is always given as f32 and converted. */
  type: GgmlTypeName;
  data: Float32Array | readonly number[];
};

export type GgufFile = {
  /** Written in this order. Keys must be unique. */
  metadata: readonly (readonly [string, GgufValue])[];
  tensors: readonly GgufTensor[];
  /** Defaults to 32; must match `general.alignment` when that key is present. */
  alignment?: number;
};

/** Grows as needed; little-endian writes. */
class ByteSink {
  private buf = Buffer.alloc(1 << 16);
  length = 0;

  private ensure(n: number) {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u8(v: number) {
    this.ensure(1);
    this.buf.writeUInt8(v, this.length);
    this.length += 1;
  }
  i8(v: number) {
    this.ensure(1);
    this.buf.writeInt8(v, this.length);
    this.length += 1;
  }
  u16(v: number) {
    this.ensure(2);
    this.buf.writeUInt16LE(v, this.length);
    this.length += 2;
  }
  i16(v: number) {
    this.ensure(2);
    this.buf.writeInt16LE(v, this.length);
    this.length += 2;
  }
  u32(v: number) {
    this.ensure(4);
    this.buf.writeUInt32LE(v, this.length);
    this.length += 4;
  }
  i32(v: number) {
    this.ensure(4);
    this.buf.writeInt32LE(v, this.length);
    this.length += 4;
  }
  f32(v: number) {
    this.ensure(4);
    this.buf.writeFloatLE(v, this.length);
    this.length += 4;
  }
  f64(v: number) {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.length);
    this.length += 8;
  }
  u64(v: bigint | number) {
    this.ensure(8);
    this.buf.writeBigUInt64LE(BigInt(v), this.length);
    this.length += 8;
  }
  i64(v: bigint | number) {
    this.ensure(8);
    this.buf.writeBigInt64LE(BigInt(v), this.length);
    this.length += 8;
  }
  bytes(b: Uint8Array) {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  string(s: string) {
    const b = Buffer.from(s, "utf8");
    this.u64(b.length);
    this.bytes(b);
  }
  padTo(alignment: number) {
    const pad = padding(this.length, alignment);
    this.ensure(pad);
    this.buf.fill(0, this.length, this.length + pad);
    this.length += pad;
  }
  result(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }
}

/** Bytes needed to bring `offset` up to a multiple of `alignment`. */
export function padding(offset: number, alignment: number): number {
  return (alignment - (offset % alignment)) % alignment;
}

/** IEEE 754 binary16 bits of a number (round to nearest even; overflow → ±inf). */
export function toFloat16Bits(value: number): number {
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  f[0] = value;
  const x = u[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow
  if (e <= 0) {
    if (e < -10) return sign; // underflow to ±0
    mant |= 0x800000; // implicit leading 1
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1))) half += 1;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half += 1; // may carry into the exponent: still correct
  return sign | half;
}

function writeScalar(sink: ByteSink, type: GgufScalarType, value: number | bigint | boolean | string, key: string) {
  const bad = () => new TypeError(`GGUF ${key}: value ${String(value)} is not a valid ${type}`);
  switch (type) {
    case "string":
      if (typeof value !== "string") throw bad();
      sink.string(value);
      return;
    case "bool":
      if (typeof value !== "boolean") throw bad();
      sink.u8(value ? 1 : 0);
      return;
    case "u64":
    case "i64":
      if (typeof value !== "bigint" && !(typeof value === "number" && Number.isInteger(value))) throw bad();
      if (type === "u64") sink.u64(value);
      else sink.i64(value);
      return;
    default: {
      if (typeof value !== "number" || Number.isNaN(value)) throw bad();
      const isInt = type !== "f32" && type !== "f64";
      if (isInt && !Number.isInteger(value)) throw bad();
      try {
        sink[type](value);
      } catch {
        throw bad(); // out of range for the integer type
      }
    }
  }
}

function writeValue(sink: ByteSink, value: GgufValue, key: string) {
  sink.u32(GgufType[value.type]);
  if (value.type === "array") {
    sink.u32(GgufType[value.itemType]);
    sink.u64(value.values.length);
    for (const v of value.values) writeScalar(sink, value.itemType, v, key);
    return;
  }
  writeScalar(sink, value.type, value.value, key);
}

function tensorByteSize(t: GgufTensor): number {
  const n = t.dims.reduce((a, b) => a * b, 1);
  if (n !== t.data.length) {
    throw new Error(`tensor ${t.name}: dims ${t.dims.join("x")} = ${n} elements, data has ${t.data.length}`);
  }
  if (t.type === "q8_0") {
    if (t.dims[0]! % Q8_0_BLOCK !== 0) throw new Error(`tensor ${t.name}: q8_0 needs rows that are a multiple of ${Q8_0_BLOCK}`);
    return (n / Q8_0_BLOCK) * (2 + Q8_0_BLOCK);
  }
  return n * (t.type === "f32" ? 4 : 2);
}

const Q8_0_BLOCK = 32;

/** ggml's Q8_0: per block of 32 values an f16 scale d = max|x| / 127, then 32 int8 round(x / d). */
export function encodeQ8_0(data: ArrayLike<number>, out: Buffer) {
  for (let b = 0, o = 0; b < data.length; b += Q8_0_BLOCK, o += 2 + Q8_0_BLOCK) {
    let amax = 0;
    for (let i = 0; i < Q8_0_BLOCK; i++) amax = Math.max(amax, Math.abs(data[b + i]!));
    const d = amax / 127;
    const id = d ? 1 / d : 0;
    out.writeUInt16LE(toFloat16Bits(d), o);
    for (let i = 0; i < Q8_0_BLOCK; i++) out.writeInt8(Math.round(data[b + i]! * id), o + 2 + i);
  }
}

/** Serialises a complete GGUF v3 file into one Buffer. */
export function writeGguf(file: GgufFile): Buffer {
  const alignment = file.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0) {
    throw new Error(`alignment must be a positive multiple of 8, got ${alignment}`);
  }
  const keys = new Set<string>();
  for (const [key, value] of file.metadata) {
    if (keys.has(key)) throw new Error(`duplicate metadata key ${key}`);
    keys.add(key);
    if (key === "general.alignment" && (value.type !== "u32" || value.value !== alignment)) {
      throw new Error(`general.alignment must be u32 ${alignment}`);
    }
  }
  const names = new Set<string>();
  for (const t of file.tensors) {
    if (names.has(t.name)) throw new Error(`duplicate tensor ${t.name}`);
    names.add(t.name);
    if (t.dims.length < 1 || t.dims.length > 4) throw new Error(`tensor ${t.name}: 1 to 4 dims`);
  }

  const sink = new ByteSink();
  sink.u32(GGUF_MAGIC);
  sink.u32(GGUF_VERSION);
  sink.u64(file.tensors.length);
  sink.u64(file.metadata.length);
  for (const [key, value] of file.metadata) {
    sink.string(key);
    writeValue(sink, value, key);
  }

  let offset = 0;
  for (const t of file.tensors) {
    sink.string(t.name);
    sink.u32(t.dims.length);
    for (const d of t.dims) sink.u64(d);
    sink.u32(GgmlType[t.type]);
    sink.u64(offset);
    const size = tensorByteSize(t);
    offset += size + padding(size, alignment);
  }
  sink.padTo(alignment);

  for (const t of file.tensors) {
    const bytes = Buffer.alloc(tensorByteSize(t));
    if (t.type === "f32") {
      for (let i = 0; i < t.data.length; i++) bytes.writeFloatLE(t.data[i]!, i * 4);
    } else if (t.type === "q8_0") {
      encodeQ8_0(t.data, bytes);
    } else {
      for (let i = 0; i < t.data.length; i++) bytes.writeUInt16LE(toFloat16Bits(t.data[i]!), i * 2);
    }
    sink.bytes(bytes);
    sink.padTo(alignment);
  }
  return sink.result();
}

// The safetensors dtype table, and decoders/encoders between stored bytes and floats.
//
// The table is the reference implementation's full `Dtype` enum, with bits per element
// (sub-byte dtypes F4 and F6_* included). Names are case-sensitive.
// Encoders round once, from the float64 value, to nearest-even (round-to-odd via f32, so no double rounding).
import { WorkbenchError } from './errors.ts';

export const DTYPE_BITS = {
  BOOL: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  F8_E4M3FNUZ: 8,
  F8_E5M2FNUZ: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
} as const satisfies Record<string, number>;

export type DType = keyof typeof DTYPE_BITS;
/** Dtypes the workbench writes from floats. */
export type FloatDType = 'F32' | 'F16' | 'BF16' | 'F64';
/** Dtypes `decodeToFloat` understands. */
export type DecodableDType = FloatDType | 'BOOL' | 'U8' | 'I8' | 'I16' | 'U16' | 'I32' | 'U32' | 'I64' | 'U64';

export const DTYPE_NAMES: readonly DType[] = Object.keys(DTYPE_BITS) as DType[];

/** Bytes per element; fractional (0.5, 0.75) for the sub-byte dtypes F4 and F6_*. */
export const DTYPE_BYTES = Object.fromEntries(
  Object.entries(DTYPE_BITS).map(([name, bits]) => [name, bits / 8]),
) as Readonly<Record<DType, number>>;

export function isDType(value: string): value is DType {
  return Object.hasOwn(DTYPE_BITS, value);
}

const DECODABLE = new Set<string>(['F32', 'F16', 'BF16', 'F64', 'BOOL', 'U8', 'I8', 'I16', 'U16', 'I32', 'U32', 'I64', 'U64']);

export function isDecodableDType(dtype: DType): dtype is DecodableDType {
  return DECODABLE.has(dtype);
}

/** Bytes taken by `elements` values of `dtype`; throws when a sub-byte dtype would end mid-byte. */
export function byteLengthOf(dtype: DType, elements: number): number {
  const bits = elements * DTYPE_BITS[dtype];
  if (bits % 8 !== 0) {
    throw new WorkbenchError('ST_MISALIGNED_SLICE', `${elements} ${dtype} values take ${bits} bits, not a whole number of bytes`, {
      details: { dtype, elements, bits },
    });
  }
  return bits / 8;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) {
    return sign * fraction * 2 ** -24;
  }
  if (exponent === 0x1f) {
    return fraction === 0 ? sign * Infinity : NaN;
  }
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

export function bf16ToFloat(h: number): number {
  u32Scratch[0] = (h & 0xffff) << 16;
  return f32Scratch[0]!;
}

/**
 * The float32 nearest `value` under round-to-odd, as bits: when rounding is inexact the last
 * mantissa bit is forced to 1. Rounding that to a format with at least 2 fewer mantissa bits
 * (F16, BF16) with round-to-nearest-even equals one correct rounding of the float64 value,
 * so no double-rounding error creeps in. Returns undefined when |value| overflows float32.
 */
function roundToOddF32Bits(value: number): number | undefined {
  f32Scratch[0] = value;
  const rounded = f32Scratch[0]!;
  let bits = u32Scratch[0]!;
  if (rounded !== value && !Number.isNaN(value)) {
    if (!Number.isFinite(rounded)) {
      return undefined;
    }
    if ((bits & 1) === 0) {
      bits = Math.abs(rounded) > Math.abs(value) ? bits - 1 : bits + 1;
    }
  }
  return bits >>> 0;
}

/** float → bf16 bits with one round-to-nearest-even from the float64 value; NaN → quiet NaN. */
export function floatToBf16(value: number): number {
  const bits = roundToOddF32Bits(value);
  if (bits === undefined) {
    return value < 0 ? 0xff80 : 0x7f80;
  }
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0) {
    return ((bits >>> 16) | 0x0040) & 0xffff;
  }
  const lsb = (bits >>> 16) & 1;
  return ((bits + 0x7fff + lsb) >>> 16) & 0xffff;
}

/** float → IEEE half bits with one round-to-nearest-even, overflow to ±Inf, gradual underflow. */
export function floatToHalf(value: number): number {
  const x = roundToOddF32Bits(value);
  if (x === undefined) {
    return value < 0 ? 0xfc00 : 0x7c00;
  }
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) {
    return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  }
  const e = exp - 127 + 15;
  if (e >= 0x1f) {
    return sign | 0x7c00;
  }
  if (e <= 0) {
    if (e < -10) {
      return sign; // below half the smallest subnormal (2^-25): rounds to ±0
    }
    mant |= 0x800000;
    const shift = 14 - e;
    const halfMant = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    let out = halfMant;
    if (rem > halfway || (rem === halfway && (halfMant & 1) === 1)) {
      out += 1;
    }
    return sign | out;
  }
  let out = sign | (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (out & 1) === 1)) {
    out += 1; // may carry into the exponent: the correct rounding to the next binade / Inf
  }
  return out;
}

let halfTable: Float32Array | undefined;

/** All 65,536 half values as float32 (256 KiB, built on first use). */
function getHalfTable(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
  }
  return halfTable;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A typed view over `bytes` when it is aligned and the host is little-endian, else a copy. */
function alignedView<T>(bytes: Uint8Array, width: number, make: (buffer: ArrayBufferLike, offset: number, length: number) => T): T {
  const length = Math.floor(bytes.byteLength / width);
  if (LITTLE_ENDIAN_HOST && bytes.byteOffset % width === 0) {
    return make(bytes.buffer, bytes.byteOffset, length);
  }
  const copy = bytes.slice(0, length * width);
  if (!LITTLE_ENDIAN_HOST) {
    for (let i = 0; i < copy.byteLength; i += width) copy.subarray(i, i + width).reverse();
  }
  return make(copy.buffer, 0, length);
}

/**
 * Decodes little-endian stored bytes to floats. `bytes` may start at any offset (an unaligned
 * tensor is copied into an aligned buffer first). 64-bit integers above 2^53 lose precision.
 */
const WIDEN_BLOCK = 1 << 14;
const widenBlock = new Uint32Array(WIDEN_BLOCK);
const widenBlockF32 = new Float32Array(widenBlock.buffer);

export function decodeToFloat<T extends Float32Array | Float64Array>(dtype: DType, bytes: Uint8Array, out: T): T {
  const n = out.length;
  switch (dtype) {
    case 'F32':
      out.set(alignedView(bytes, 4, (b, o, l) => new Float32Array(b, o, l)).subarray(0, n));
      return out;
    case 'F64':
      out.set(alignedView(bytes, 8, (b, o, l) => new Float64Array(b, o, l)).subarray(0, n));
      return out;
    case 'F16': {
      const table = getHalfTable();
      const src = alignedView(bytes, 2, (b, o, l) => new Uint16Array(b, o, l));
      for (let i = 0; i < n; i++) out[i] = table[src[i]!]!;
      return out;
    }
    case 'BF16': {
      const src = alignedView(bytes, 2, (b, o, l) => new Uint16Array(b, o, l));
      if (out instanceof Float32Array) {
        const bits = new Uint32Array(out.buffer, out.byteOffset, n);
        for (let i = 0; i < n; i++) bits[i] = src[i]! << 16;
      } else {
        // Widen through a small float32 block: a typed-array set() beats a per-element scratch.
        // The block is reused between calls (fresh memory costs page faults on every call).
        const block = widenBlock;
        const blockF32 = widenBlockF32;
        for (let start = 0; start < n; start += block.length) {
          const count = Math.min(block.length, n - start);
          for (let i = 0; i < count; i++) block[i] = src[start + i]! << 16;
          out.set(count === block.length ? blockF32 : blockF32.subarray(0, count), start);
        }
      }
      return out;
    }
    case 'I8':
      out.set(new Int8Array(bytes.buffer, bytes.byteOffset, Math.min(n, bytes.byteLength)));
      return out;
    case 'U8':
    case 'BOOL':
      out.set(bytes.subarray(0, n));
      return out;
    case 'I16':
      out.set(alignedView(bytes, 2, (b, o, l) => new Int16Array(b, o, l)).subarray(0, n));
      return out;
    case 'U16':
      out.set(alignedView(bytes, 2, (b, o, l) => new Uint16Array(b, o, l)).subarray(0, n));
      return out;
    case 'I32':
      out.set(alignedView(bytes, 4, (b, o, l) => new Int32Array(b, o, l)).subarray(0, n));
      return out;
    case 'U32':
      out.set(alignedView(bytes, 4, (b, o, l) => new Uint32Array(b, o, l)).subarray(0, n));
      return out;
    case 'I64': {
      const src = alignedView(bytes, 8, (b, o, l) => new BigInt64Array(b, o, l));
      for (let i = 0; i < n; i++) out[i] = Number(src[i]!);
      return out;
    }
    case 'U64': {
      const src = alignedView(bytes, 8, (b, o, l) => new BigUint64Array(b, o, l));
      for (let i = 0; i < n; i++) out[i] = Number(src[i]!);
      return out;
    }
    default:
      throw new WorkbenchError('ST_DTYPE_UNSUPPORTED', `cannot decode dtype ${dtype} to floats`, {
        details: { dtype },
      });
  }
}

/** Encodes floats to little-endian bytes of a float dtype (one round-to-nearest-even per value). */
export function encodeFloats(dtype: FloatDType, values: ArrayLike<number>): Uint8Array {
  const n = values.length;
  const out = new Uint8Array(n * DTYPE_BITS[dtype] / 8);
  const view = new DataView(out.buffer);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) view.setFloat32(i * 4, values[i]!, true);
      break;
    case 'F64':
      for (let i = 0; i < n; i++) view.setFloat64(i * 8, values[i]!, true);
      break;
    case 'F16':
      for (let i = 0; i < n; i++) view.setUint16(i * 2, floatToHalf(values[i]!), true);
      break;
    case 'BF16':
      for (let i = 0; i < n; i++) view.setUint16(i * 2, floatToBf16(values[i]!), true);
      break;
  }
  return out;
}

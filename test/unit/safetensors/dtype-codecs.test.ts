import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorkbenchError } from '../../../src/errors.ts';
import {
  DTYPE_BITS,
  bf16ToFloat,
  byteLengthOf,
  decodeToFloat,
  encodeFloats,
  floatToBf16,
  floatToHalf,
  halfToFloat,
  isDType,
} from '../../../src/dtype.ts';

interface Golden {
  encode: { f64: string; f16: number; bf16: number }[];
  decodeF16: { bits: number; f64: string }[];
}
const golden = JSON.parse(readFileSync(join(import.meta.dirname, '../../../fixtures/golden/dtype/dtype-golden.json'), 'utf8')) as Golden;

function fromHex(hex: string): number {
  return Buffer.from(hex, 'hex').readDoubleLE(0);
}
const isHalfNaN = (h: number): boolean => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
const isBf16NaN = (h: number): boolean => (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;

describe('dtype table', () => {
  it('lists the reference dtypes with their bit widths, case-sensitively', () => {
    expect(Object.keys(DTYPE_BITS)).toHaveLength(22);
    expect(DTYPE_BITS.F4).toBe(4);
    expect(DTYPE_BITS.F6_E3M2).toBe(6);
    expect(DTYPE_BITS.F8_E5M2FNUZ).toBe(8);
    expect(isDType('BF16')).toBe(true);
    expect(isDType('bf16')).toBe(false);
    expect(isDType('__proto__')).toBe(false);
    expect(isDType('toString')).toBe(false);
  });
  it('sizes sub-byte tensors and refuses ones that end mid-byte', () => {
    expect(byteLengthOf('F4', 4)).toBe(2);
    expect(byteLengthOf('F6_E2M3', 4)).toBe(3);
    expect(() => byteLengthOf('F4', 3)).toThrow(WorkbenchError);
  });
});

describe('F16 and BF16 encoders match numpy / exact rounding (fixtures/golden/dtype)', () => {
  it(`encodes ${golden.encode.length} float64 values to the golden F16 bits (numpy astype float16)`, () => {
    let checked = 0;
    for (const c of golden.encode) {
      const x = fromHex(c.f64);
      const got = floatToHalf(x);
      if (isHalfNaN(c.f16)) expect(isHalfNaN(got)).toBe(true);
      else expect(got, `F16 of ${x}`).toBe(c.f16);
      checked++;
    }
    expect(checked).toBeGreaterThan(1000);
  });
  it('encodes the same values to the golden BF16 bits (exact rational round-half-even)', () => {
    for (const c of golden.encode) {
      const x = fromHex(c.f64);
      const got = floatToBf16(x);
      if (isBf16NaN(c.bf16)) expect(isBf16NaN(got)).toBe(true);
      else expect(got, `BF16 of ${x}`).toBe(c.bf16);
    }
  });
  it('encodeFloats writes the same bits little-endian', () => {
    const xs = golden.encode.map((c) => fromHex(c.f64)).filter((x) => !Number.isNaN(x));
    const expected = golden.encode.filter((c) => !Number.isNaN(fromHex(c.f64)));
    const f16 = encodeFloats('F16', xs);
    const bf16 = encodeFloats('BF16', xs);
    const v16 = new DataView(f16.buffer);
    const vb = new DataView(bf16.buffer);
    expected.forEach((c, i) => {
      expect(v16.getUint16(i * 2, true)).toBe(c.f16);
      expect(vb.getUint16(i * 2, true)).toBe(c.bf16);
    });
  });
  it('avoids double rounding: 1 + 2^-11 + 2^-40 rounds up in F16 although its float32 is a tie', () => {
    expect(floatToHalf(1 + 2 ** -11 + 2 ** -40)).toBe(0x3c01);
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00);
    expect(floatToBf16(1 + 2 ** -8 + 2 ** -40)).toBe(0x3f81);
  });
});

describe('decoders', () => {
  it(`decodes ${golden.decodeF16.length} F16 bit patterns to numpy's values`, () => {
    const bytes = new Uint8Array(golden.decodeF16.length * 2);
    const view = new DataView(bytes.buffer);
    golden.decodeF16.forEach((c, i) => view.setUint16(i * 2, c.bits, true));
    const f32 = decodeToFloat('F16', bytes, new Float32Array(golden.decodeF16.length));
    const f64 = decodeToFloat('F16', bytes, new Float64Array(golden.decodeF16.length));
    golden.decodeF16.forEach((c, i) => {
      const want = fromHex(c.f64);
      if (Number.isNaN(want)) {
        expect(Number.isNaN(halfToFloat(c.bits)) && Number.isNaN(f32[i]!) && Number.isNaN(f64[i]!)).toBe(true);
      } else {
        expect(halfToFloat(c.bits)).toBe(want);
        expect(f32[i]).toBe(want);
        expect(f64[i]).toBe(want);
      }
    });
  });
  it('decodes BF16 as the top half of a float32 (exact), to both output widths', () => {
    const bits = [0x3f80, 0xbf80, 0x4049, 0x0001, 0x7f7f, 0xff80];
    const bytes = new Uint8Array(new Uint16Array(bits).buffer);
    const f32 = decodeToFloat('BF16', bytes, new Float32Array(bits.length));
    const f64 = decodeToFloat('BF16', bytes, new Float64Array(bits.length));
    const want = [1, -1, 3.140625, 2 ** -133, (2 - 2 ** -7) * 2 ** 127, -Infinity];
    want.forEach((w, i) => {
      expect(f32[i]).toBe(w);
      expect(f64[i]).toBe(w);
      expect(bf16ToFloat(bits[i]!)).toBe(w);
    });
  });
  it('decodes integer dtypes exactly, from unaligned bytes too', () => {
    const buffer = new Uint8Array(1 + 8 * 3);
    const view = new DataView(buffer.buffer, 1);
    view.setBigInt64(0, -5n, true);
    view.setBigInt64(8, 2n ** 40n, true);
    view.setBigInt64(16, 7n, true);
    const unaligned = buffer.subarray(1);
    expect([...decodeToFloat('I64', unaligned, new Float64Array(3))]).toEqual([-5, 2 ** 40, 7]);
    const i16 = new Uint8Array([0xff, 0xff, 0x00, 0x80, 0x01, 0x00]);
    expect([...decodeToFloat('I16', i16, new Float64Array(3))]).toEqual([-1, -32768, 1]);
    expect([...decodeToFloat('U16', i16, new Float64Array(3))]).toEqual([65535, 32768, 1]);
    expect([...decodeToFloat('I8', new Uint8Array([0x80, 0x7f]), new Float32Array(2))]).toEqual([-128, 127]);
    expect([...decodeToFloat('U32', new Uint8Array([0xff, 0xff, 0xff, 0xff]), new Float64Array(1))]).toEqual([4294967295]);
    expect([...decodeToFloat('I32', new Uint8Array([0xfe, 0xff, 0xff, 0xff]), new Float64Array(1))]).toEqual([-2]);
    expect([...decodeToFloat('BOOL', new Uint8Array([1, 0]), new Float32Array(2))]).toEqual([1, 0]);
    expect([...decodeToFloat('U64', new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]), new Float64Array(1))]).toEqual([1]);
  });
  it('decodes F32 and F64 stored at odd byte offsets', () => {
    const buffer = new Uint8Array(1 + 12);
    const view = new DataView(buffer.buffer, 1);
    view.setFloat32(0, 1.5, true);
    view.setFloat64(4, -0.1, true);
    expect(decodeToFloat('F32', buffer.subarray(1, 5), new Float64Array(1))[0]).toBe(1.5);
    expect(decodeToFloat('F64', buffer.subarray(5, 13), new Float64Array(1))[0]).toBe(-0.1);
  });
  it('refuses dtypes it cannot decode with ST_DTYPE_UNSUPPORTED', () => {
    for (const dtype of ['F8_E4M3', 'C64', 'F4'] as const) {
      expect(() => decodeToFloat(dtype, new Uint8Array(8), new Float32Array(1))).toThrow(
        expect.objectContaining({ code: 'ST_DTYPE_UNSUPPORTED' }),
      );
    }
  });
});

import { describe, expect, it } from 'vitest';
import { bf16ToFloat, floatToBf16, floatToHalf, halfToFloat } from '../../../src/dtype.ts';

describe('half and bfloat16 encoders round to nearest even', () => {
  it('encodes 1.0 and 65504 exactly in F16 and overflows 65520 to Inf', () => {
    expect(floatToHalf(1)).toBe(0x3c00);
    expect(halfToFloat(floatToHalf(65504))).toBe(65504);
    expect(halfToFloat(floatToHalf(65520))).toBe(Infinity);
  });
  it('rounds a bf16 halfway value to the even neighbour', () => {
    // 1 + 2^-8 is exactly halfway between bf16 1.0 (even) and 1 + 2^-7.
    expect(bf16ToFloat(floatToBf16(1 + 2 ** -8))).toBe(1);
    // 1 + 3·2^-8 is halfway between 1 + 2^-7 (odd mantissa) and 1 + 2^-6: rounds up to even.
    expect(bf16ToFloat(floatToBf16(1 + 3 * 2 ** -8))).toBe(1 + 2 ** -6);
  });
});

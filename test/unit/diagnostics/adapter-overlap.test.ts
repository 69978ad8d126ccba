import { describe, expect, it } from 'vitest';
import { fromRows } from '../../../src/tensor/matrix.ts';
import { principalAngles, signConflictRate, unitCosineMatrix } from '../../../src/diagnostics/adapter-overlap.ts';

const e = (i: number, n = 3): Float64Array => Float64Array.from({ length: n }, (_, j) => (j === i ? 1 : 0));

describe('overlap between two adapters on one module', () => {
  it('principal angles of span{e1,e2} and span{e1,(e2+e3)/√2} have cosines 1 and 1/√2', () => {
    const r = Math.SQRT1_2;
    const side = principalAngles([e(0), e(1)], [e(0), Float64Array.from([0, r, r])]);
    expect(side.cosines[0]).toBeCloseTo(1, 12);
    expect(side.cosines[1]).toBeCloseTo(r, 12);
    expect(side.overlap).toBeCloseTo((1 + 0.5) / 2, 12);
  });

  it('unit cosines are gauge-free: flipping both signs or rescaling b·c, a/c changes nothing', () => {
    const B1 = fromRows([[1, 0], [0, 1]]);
    const A1 = fromRows([[1, 0], [0.6, 0.8]]);
    const B2 = fromRows([[1], [1]]);
    const A2 = fromRows([[1, 0]]);
    const base = unitCosineMatrix(B1, A1, B2, A2);
    // unit 0: cos(b) = 1/√2, cos(a) = 1 → 0.707107; unit 1: 1/√2 · 0.6 = 0.424264.
    expect(base[0]![0]).toBeCloseTo(0.707107, 6);
    expect(base[1]![0]).toBeCloseTo(0.424264, 6);
    const flipped = unitCosineMatrix(fromRows([[-3, 0], [0, 1]]), fromRows([[-1 / 3, 0], [0.6, 0.8]]), B2, A2);
    expect(flipped[0]![0]).toBeCloseTo(base[0]![0]!, 12);
  });

  it('sign conflict counts opposite signs among entries where both deltas are non-zero', () => {
    // ΔW1 = [[1, -1], [0, 2]], ΔW2 = [[1, 1], [3, -1]] → both non-zero at 3 entries, 2 disagree.
    const r = signConflictRate(fromRows([[1, 0], [0, 1]]), fromRows([[1, -1], [0, 2]]), 1, fromRows([[1, 0], [0, 1]]), fromRows([[1, 1], [3, -1]]), 1, 1);
    expect(r.entries).toBe(3);
    expect(r.rate).toBeCloseTo(2 / 3, 12);
    expect(r.sampledRows).toBeNull();
  });
});

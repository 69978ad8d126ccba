// MSU decomposition: permutation invariance, concatenation = summation, gauge canonicalisation.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decomposeModule, canonicalizeUnit } from '../../../src/units/index.ts';
import { fromRows, matmul, toRows, zeros, type Mat } from '../../../src/tensor/matrix.ts';
import { maxAbsDiff, randomMat } from '../merge/helpers.ts';

function poolDelta(B: Mat, A: Mat): number[][] {
  return toRows(matmul(B, A));
}

function permuteRank(B: Mat, A: Mat, perm: readonly number[]): { B: Mat; A: Mat } {
  const r = A.rows;
  const Bp = zeros(B.rows, r);
  const Ap = zeros(r, A.cols);
  perm.forEach((src, dst) => {
    for (let i = 0; i < B.rows; i++) Bp.data[i * r + dst] = B.data[i * r + src]!;
    Ap.data.set(A.data.subarray(src * A.cols, (src + 1) * A.cols), dst * A.cols);
  });
  return { B: Bp, A: Ap };
}

describe('decomposeModule', () => {
  it('folds √s into both factors: the pool reproduces s·B·A for every feature', () => {
    const B = randomMat(5, 3, 1);
    const A = randomMat(3, 4, 2);
    const expected = toRows(matmul(B, A)).map((r) => r.map((v) => 2.5 * v));
    for (const feature of ['raw', 'canonical'] as const) {
      const pool = decomposeModule('m', [{ adapterIndex: 0, adapterName: 'a', B, A, scale: 2.5, weight: 1 }], { feature, dropZero: true });
      expect(maxAbsDiff(poolDelta(pool.B, pool.A), expected)).toBeLessThan(1e-12);
      expect(pool.ids.map((i) => i.rankIndex)).toEqual([0, 1, 2]);
    }
  });

  it('permuting the units of an adapter leaves ΔW unchanged (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 1000 }), (r, seed) => {
        const B = randomMat(4, r, seed);
        const A = randomMat(r, 3, seed + 1);
        const perm = Array.from({ length: r }, (_, i) => i).sort((x, y) => ((x * 7 + seed) % r) - ((y * 7 + seed) % r) || x - y);
        const p = permuteRank(B, A, perm);
        const a = decomposeModule('m', [{ adapterIndex: 0, adapterName: 'a', B, A, scale: 1, weight: 1 }], { feature: 'canonical', dropZero: true });
        const b = decomposeModule('m', [{ adapterIndex: 0, adapterName: 'a', B: p.B, A: p.A, scale: 1, weight: 1 }], { feature: 'canonical', dropZero: true });
        return maxAbsDiff(poolDelta(a.B, a.A), poolDelta(b.B, b.A)) < 1e-10;
      }),
      { numRuns: 30 },
    );
  });

  it('pooling the units of several adapters equals the weighted sum of their deltas', () => {
    const sources = [0, 1, 2].map((i) => ({ adapterIndex: i, adapterName: `a${i}`, B: randomMat(6, 2 + i, 10 + i), A: randomMat(2 + i, 5, 20 + i), scale: 0.5 + i, weight: [1, -0.5, 2][i]! }));
    const pool = decomposeModule('m', sources, { feature: 'canonical', dropZero: true });
    expect(pool.ids.length).toBe(2 + 3 + 4);
    const expected = zeros(6, 5);
    for (const s of sources) {
      const d = matmul(s.B, s.A);
      for (let i = 0; i < d.data.length; i++) expected.data[i]! += s.weight * s.scale * d.data[i]!;
    }
    expect(maxAbsDiff(poolDelta(pool.B, pool.A), toRows(expected))).toBeLessThan(1e-12);
  });

  it('drops zero units (untrained B columns) and keeps the ids of the others', () => {
    const B = fromRows([[0, 1], [0, 2]]);
    const A = fromRows([[1, 1], [3, 4]]);
    const pool = decomposeModule('m', [{ adapterIndex: 0, adapterName: 'a', B, A, scale: 1, weight: 1 }], { feature: 'canonical', dropZero: true });
    expect(pool.ids.map((i) => i.rankIndex)).toEqual([1]);
  });
});

describe('canonicalizeUnit', () => {
  const canon = (b: number[], a: number[]) => {
    const bb = Float64Array.from(b);
    const aa = Float64Array.from(a);
    canonicalizeUnit(bb, aa);
    return [...bb, ...aa];
  };
  it('(b,a), (−b,−a) and (c·b, a/c) map to the same pair', () => {
    const b = [0.3, -1.2, 2];
    const a = [0.5, -4, 1];
    const ref = canon(b, a);
    for (const c of [-1, 3, -0.25, 1e3]) {
      const got = canon(b.map((x) => x * c), a.map((x) => x / c));
      got.forEach((v, i) => expect(Math.abs(v - ref[i]!)).toBeLessThan(1e-12 * Math.max(1, Math.abs(ref[i]!))));
    }
  });
  it('balances the norms and makes the largest |a| entry positive', () => {
    const out = canon([4, 0], [0, -1]);
    // ρ = √(‖b‖/‖a‖) = 2: b/ρ = [2, 0], a·ρ = [0, −2], then both negated.
    [-2, 0, 0, 2].forEach((v, i) => expect(Math.abs(out[i]! - v)).toBeLessThan(1e-12));
    const nb = Math.hypot(out[0]!, out[1]!);
    const na = Math.hypot(out[2]!, out[3]!);
    expect(Math.abs(nb - na)).toBeLessThan(1e-12);
  });
  it('breaks ties of |a| by the lowest index', () => {
    // a = [−1, 1]: index 0 wins the tie and is negative, so both flip; norms balance at 2^¼.
    const out = canon([1], [-1, 1]);
    const q = 2 ** 0.25;
    [-q, 1 / q, -1 / q].forEach((v, i) => expect(Math.abs(out[i]! - v)).toBeLessThan(1e-12));
  });
});

import { describe, expect, it } from 'vitest';
import { lowRankSvd } from '../../../src/linalg/low-rank-svd.ts';
import { truncateSvd } from '../../../src/linalg/truncate.ts';
import { svdSmall } from '../../../src/linalg/svd-small.ts';
import { qrThin } from '../../../src/linalg/qr.ts';
import { fromRows, matmul, scale, transpose, zeros } from '../../../src/tensor/matrix.ts';
import type { Mat } from '../../../src/tensor/matrix.ts';
import { maxAbs, maxAbsDiff, orthonormalityError, randomMat, reconstruct } from './helpers.ts';

function add(a: Mat, b: Mat): Mat {
  const out = zeros(a.rows, a.cols);
  for (let i = 0; i < out.data.length; i++) out.data[i] = a.data[i]! + b.data[i]!;
  return out;
}

describe('lowRankSvd: exact SVD of Σ w_i·B_i·A_i without the dense sum', () => {
  it('A13: B = [[1,0],[0,1],[1,1]], A = [[1,0,0,1],[0,2,0,0]] → σ = [√(6+2√3), √(6−2√3)] = [3.076378, 1.592450], reconstruction < 1e-12', () => {
    const B = fromRows([[1, 0], [0, 1], [1, 1]]);
    const A = fromRows([[1, 0, 0, 1], [0, 2, 0, 0]]);
    const { U, S, Vt } = lowRankSvd([{ B, A, weight: 1 }]);
    expect(S.length).toBe(2);
    expect(S[0]).toBeCloseTo(Math.sqrt(6 + 2 * Math.sqrt(3)), 12);
    expect(S[1]).toBeCloseTo(Math.sqrt(6 - 2 * Math.sqrt(3)), 12);
    expect(S[0]).toBeCloseTo(3.076378, 6);
    expect(S[1]).toBeCloseTo(1.59245, 6);
    expect(maxAbsDiff(reconstruct(U, S, Vt), fromRows([[1, 0, 0, 1], [0, 2, 0, 0], [1, 2, 0, 1]]))).toBeLessThan(1e-12);
    // The 2×2 core R_B·R_Aᵀ has the same two singular values.
    const core = matmul(qrThin(B).R, transpose(qrThin(transpose(A)).R));
    const coreSvd = svdSmall(core);
    expect(coreSvd.S[0]).toBeCloseTo(S[0]!, 12);
    expect(coreSvd.S[1]).toBeCloseTo(S[1]!, 12);
  });

  it('A4: the weighted sum of the A1 adapters (s = 2 and 1) has σ = [3, √5]; rank-1 truncation gives [[3,0,0],[0,0,0]]', () => {
    const terms = [
      { B: fromRows([[1, 0], [0, 1]]), A: fromRows([[1, 0, 0], [0, 1, 0]]), weight: 2 },
      { B: fromRows([[0, 1], [1, 0]]), A: fromRows([[0, 0, 1], [1, 0, 0]]), weight: 1 },
    ];
    const svd = lowRankSvd(terms);
    expect(svd.S.length).toBe(2);
    expect(svd.S[0]).toBeCloseTo(3, 13);
    expect(svd.S[1]).toBeCloseTo(Math.sqrt(5), 13);
    const full = truncateSvd(svd, { rank: 2 });
    expect(maxAbsDiff(matmul(full.B, full.A), fromRows([[3, 0, 0], [0, 2, 1]]))).toBeLessThan(1e-13);
    const one = truncateSvd(svd, { rank: 1 });
    expect(maxAbsDiff(matmul(one.B, one.A), fromRows([[3, 0, 0], [0, 0, 0]]))).toBeLessThan(1e-13);
    expect(one.keptEnergy).toBeCloseTo(9 / 14, 13);
    expect(one.discardedEnergy).toBeCloseTo(5 / 14, 13);
  });

  it('matches the dense sum of three random LoRAs (60×45, ranks 3, 4, 5): reconstruction < 1e-12·‖M‖, orthonormal U, V', () => {
    const shapes = [3, 4, 5];
    const terms = shapes.map((r, i) => ({ B: randomMat(60, r, 10 + i), A: randomMat(r, 45, 20 + i), weight: [0.5, -1.25, 2][i]! }));
    let dense = zeros(60, 45);
    for (const t of terms) dense = add(dense, scale(matmul(t.B, t.A), t.weight));
    const { U, S, Vt } = lowRankSvd(terms);
    expect(S.length).toBe(12);
    expect(maxAbsDiff(reconstruct(U, S, Vt), dense)).toBeLessThan(1e-12 * maxAbs(dense));
    expect(orthonormalityError(U)).toBeLessThan(1e-13);
    expect(orthonormalityError(transpose(Vt))).toBeLessThan(1e-13);
    const ref = svdSmall(dense);
    for (let j = 0; j < 12; j++) expect(Math.abs(S[j]! - ref.S[j]!)).toBeLessThan(1e-12 * ref.S[0]!);
  });

  it('drops numerically zero values (tolerance max(m,n)·eps·max(σ1, max|w|‖B‖‖A‖)): w·BA − w·BA has rank 0, a repeated term keeps its rank', () => {
    const B = randomMat(8, 2, 30);
    const A = randomMat(2, 6, 31);
    expect(lowRankSvd([{ B, A, weight: 0.7 }, { B, A, weight: -0.7 }]).S.length).toBe(0);
    const twice = lowRankSvd([{ B, A, weight: 1 }, { B, A, weight: 1 }]);
    expect(twice.S.length).toBe(2);
    expect(twice.U.cols).toBe(2);
    expect(twice.Vt.rows).toBe(2);
  });

  it('refuses terms whose shapes disagree with LINALG_SHAPE_MISMATCH', () => {
    expect(() => lowRankSvd([{ B: zeros(3, 2), A: zeros(2, 4), weight: 1 }, { B: zeros(3, 1), A: zeros(1, 5), weight: 1 }])).toThrow(
      expect.objectContaining({ code: 'LINALG_SHAPE_MISMATCH' }),
    );
  });
});

describe('truncateSvd: balanced split and energy threshold', () => {
  const svd = { U: fromRows([[1, 0, 0], [0, 1, 0], [0, 0, 1]]), S: Float64Array.from([4, 2, 1]), Vt: fromRows([[1, 0, 0], [0, 1, 0], [0, 0, 1]]) };

  it('splits √σ into both factors: B = [[2,0],[0,√2],[0,0]], A = Bᵀ', () => {
    const t = truncateSvd(svd, { rank: 2 });
    expect(t.rank).toBe(2);
    expect(maxAbsDiff(t.B, fromRows([[2, 0], [0, Math.SQRT2], [0, 0]]))).toBeLessThan(1e-15);
    expect(maxAbsDiff(t.A, transpose(t.B))).toBe(0);
    expect(t.keptEnergy).toBeCloseTo(20 / 21, 15);
    expect(t.discardedEnergy).toBeCloseTo(1 / 21, 15);
  });

  it('picks the smallest k reaching the energy: e = 0.7 → 1 (16/21 = 0.762), e = 0.8 → 2, e = 1 → 3', () => {
    expect(truncateSvd(svd, { energy: 0.7 }).rank).toBe(1);
    expect(truncateSvd(svd, { energy: 0.8 }).rank).toBe(2);
    expect(truncateSvd(svd, { energy: 1 }).rank).toBe(3);
    expect(truncateSvd(svd, { energy: 1, rank: 2 }).rank).toBe(2);
  });

  it('refuses energy outside (0, 1] with INVALID_ARGUMENT', () => {
    expect(() => truncateSvd(svd, { energy: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => truncateSvd(svd, { energy: 1.5 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('lowRankSvd input checks', () => {
  it('refuses a NaN in a factor with LINALG_NONFINITE naming the term', () => {
    const B = fromRows([[1], [Number.NaN]]);
    const A = fromRows([[1, 2]]);
    expect(() => lowRankSvd([{ B: fromRows([[1], [0]]), A, weight: 1 }, { B, A, weight: 1 }])).toThrow(
      expect.objectContaining({ code: 'LINALG_NONFINITE', details: expect.objectContaining({ term: 1 }) }),
    );
  });

  it('handles a stacked rank above min(m, n): 3 terms of rank 2 on a 3×4 module', () => {
    const terms = [0, 1, 2].map((i) => ({ B: randomMat(3, 2, 80 + i), A: randomMat(2, 4, 90 + i), weight: 1 }));
    const dense = zeros(3, 4);
    for (const t of terms) {
      const p = matmul(t.B, t.A);
      for (let i = 0; i < 12; i++) dense.data[i]! += p.data[i]!;
    }
    const { U, S, Vt } = lowRankSvd(terms);
    expect(S.length).toBe(3);
    expect(maxAbsDiff(reconstruct(U, S, Vt), dense)).toBeLessThan(1e-13 * maxAbs(dense));
  });
});

// Kernels against numpy/LAPACK outputs (fixtures/golden/linalg/make-golden.py, numpy gesdd/geqrf/syevd).
// Singular vectors are compared through principal angles between spans (signs and rotations inside
// degenerate groups are arbitrary); at a cut after index j the bound has the Davis–Kahan–Wedin form
// sin θ ≤ c·σ1 / gap_j (gap_j = σ_j − σ_{j+1}), with the constant c stated in each test name.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { svdSmall } from '../../../src/linalg/svd-small.ts';
import { qrThin } from '../../../src/linalg/qr.ts';
import { eighSymmetric } from '../../../src/linalg/eigh.ts';
import { lowRankSvd } from '../../../src/linalg/low-rank-svd.ts';
import { randomizedSvd } from '../../../src/linalg/randomized-svd.ts';
import { matOperator } from '../../../src/linalg/mat-operator.ts';
import { kmeans } from '../../../src/linalg/kmeans.ts';
import { matmul, transpose, zeros } from '../../../src/tensor/matrix.ts';
import type { Mat } from '../../../src/tensor/matrix.ts';
import { maxAbs, maxAbsDiff, orthonormalityError, reconstruct } from './helpers.ts';

interface JsonMat {
  rows: number;
  cols: number;
  data: number[];
}
const golden = JSON.parse(readFileSync(new URL('../../../fixtures/golden/linalg/golden.json', import.meta.url), 'utf8'));
const toMat = (j: JsonMat): Mat => ({ rows: j.rows, cols: j.cols, data: Float64Array.from(j.data) });

function leadingColumns(M: Mat, j: number): Mat {
  const out = zeros(M.rows, j);
  for (let i = 0; i < M.rows; i++) for (let c = 0; c < j; c++) out.data[i * j + c] = M.data[i * M.cols + c]!;
  return out;
}

/** sin of the largest principal angle between span(X) and span(Y) (orthonormal columns): ‖(I − YYᵀ)X‖₂. */
function sinLargestAngle(X: Mat, Y: Mat): number {
  const residual = matmul(Y, matmul(transpose(Y), X));
  for (let i = 0; i < residual.data.length; i++) residual.data[i] = X.data[i]! - residual.data[i]!;
  return svdSmall(residual).S[0] ?? 0;
}

/** Checks the spans of the first j left and right vectors at every clean cut j ≤ rank. */
function expectSubspacesAgree(U: Mat, Vt: Mat, refU: Mat, refVt: Mat, refS: number[], rank: number, c: number): void {
  const s1 = refS[0]!;
  for (let j = 1; j <= rank; j++) {
    const gap = refS[j - 1]! - (refS[j] ?? 0);
    if (gap <= 1e-6 * s1) continue;
    const bound = (c * s1) / gap;
    expect(sinLargestAngle(leadingColumns(U, j), leadingColumns(refU, j))).toBeLessThan(bound);
    expect(sinLargestAngle(leadingColumns(transpose(Vt), j), leadingColumns(transpose(refVt), j))).toBeLessThan(bound);
  }
}

describe('svdSmall vs numpy.linalg.svd (gesdd)', () => {
  for (const g of golden.svd as { name: string; M: JsonMat; U: JsonMat; S: number[]; Vt: JsonMat; numpyReconstructionError: number }[]) {
    it(`${g.name}: |σ_i − σ̂_i| ≤ 1e-13·σ1, reconstruction ≤ 1e-13·σ1, spans at clean cuts sin θ ≤ 1e-13·σ1/gap`, () => {
      const M = toMat(g.M);
      const { U, S, Vt } = svdSmall(M);
      const s1 = g.S[0]!;
      expect(S.length).toBe(g.S.length);
      g.S.forEach((ref, i) => expect(Math.abs(S[i]! - ref)).toBeLessThan(1e-13 * s1));
      expect(maxAbsDiff(reconstruct(U, S, Vt), M)).toBeLessThan(Math.max(1e-13 * s1, 10 * g.numpyReconstructionError));
      expect(orthonormalityError(U)).toBeLessThan(1e-13);
      expect(orthonormalityError(transpose(Vt))).toBeLessThan(1e-13);
      const rank = g.S.filter((s) => s > 1e-10 * s1).length;
      expectSubspacesAgree(U, Vt, toMat(g.U), toMat(g.Vt), g.S, rank, 1e-13);
    });
  }

  it('ill-conditioned (cond 1e8): the smallest value 1e-8 is accurate to 1e-6 relative (Jacobi relative accuracy)', () => {
    const g = golden.svd.find((c: { name: string }) => c.name.startsWith('ill-conditioned'));
    const { S } = svdSmall(toMat(g.M));
    const last = g.S.length - 1;
    expect(Math.abs(S[last]! - g.S[last]) / g.S[last]).toBeLessThan(1e-6);
  });
});

describe('qrThin and eighSymmetric vs numpy (geqrf, syevd)', () => {
  it('qrThin equals numpy qr with a non-negative R diagonal to 1e-13', () => {
    const { Q, R } = qrThin(toMat(golden.qr.M));
    expect(maxAbsDiff(Q, toMat(golden.qr.Q))).toBeLessThan(1e-13);
    expect(maxAbsDiff(R, toMat(golden.qr.R))).toBeLessThan(1e-13);
  });

  it('eighSymmetric: eigenvalues to 1e-12·|λ|max, each eigenvector to 1e-10 up to sign (distinct eigenvalues)', () => {
    const { values, vectors } = eighSymmetric(toMat(golden.eigh.M));
    const ref = golden.eigh.values as number[];
    const scale = Math.max(...ref.map(Math.abs));
    ref.forEach((v, i) => expect(Math.abs(values[i]! - v)).toBeLessThan(1e-12 * scale));
    const V = toMat(golden.eigh.vectors);
    for (let j = 0; j < ref.length; j++) {
      let dot = 0;
      for (let i = 0; i < ref.length; i++) dot += vectors.data[i * ref.length + j]! * V.data[i * ref.length + j]!;
      expect(1 - Math.abs(dot)).toBeLessThan(1e-10);
    }
  });
});

describe('lowRankSvd of a sum of four LoRAs vs numpy SVD of the dense sum', () => {
  it('30×25, ranks 2+3+4+3 = 12: values to 1e-12·σ1, spans to 1e-12·σ1/gap, and numpy\'s tail is zero to 1e-13·σ1', () => {
    const g = golden.lowRankSum;
    const terms = g.terms.map((t: { B: JsonMat; A: JsonMat; weight: number }) => ({ B: toMat(t.B), A: toMat(t.A), weight: t.weight }));
    const { U, S, Vt } = lowRankSvd(terms);
    const s1 = g.S[0];
    expect(S.length).toBe(12);
    (g.S as number[]).forEach((ref, i) => expect(Math.abs(S[i]! - ref)).toBeLessThan(1e-12 * s1));
    for (const t of g.denseSTail as number[]) expect(t).toBeLessThan(1e-13 * s1);
    expectSubspacesAgree(U, Vt, toMat(g.U), toMat(g.Vt), g.S, 12, 1e-12);
    // Reconstruction against the dense sum formed here (test-only).
    let dense = zeros(30, 25);
    for (const t of terms) {
      const p = matmul(t.B, t.A);
      dense = { rows: 30, cols: 25, data: dense.data.map((v, i) => v + t.weight * p.data[i]!) };
    }
    expect(maxAbsDiff(reconstruct(U, S, Vt), dense)).toBeLessThan(1e-12 * maxAbs(dense));
  });
});

describe('randomizedSvd vs numpy top-k', () => {
  it('60×50 with σ_j = 50·0.7^j, k = 6, oversample 10, 2 power iterations: values to 1e-10 relative, top-j spans sin θ < 1e-8', async () => {
    const g = golden.randomized;
    const { U, S, Vt } = await randomizedSvd(matOperator(toMat(g.M)), { rank: g.k, seed: 5 });
    (g.S as number[]).forEach((ref, i) => expect(Math.abs(S[i]! - ref) / ref).toBeLessThan(1e-10));
    for (let j = 1; j <= g.k; j++) {
      expect(sinLargestAngle(leadingColumns(U, j), leadingColumns(toMat(g.U), j))).toBeLessThan(1e-8);
      expect(sinLargestAngle(leadingColumns(transpose(Vt), j), leadingColumns(transpose(toMat(g.Vt)), j))).toBeLessThan(1e-8);
    }
  });
});

describe('kmeans vs an independent numpy Lloyd loop', () => {
  it('three blobs, 30×5, firstK: same labels and iterations; centroids and inertia to 1e-12', () => {
    const g = golden.kmeans;
    const r = kmeans(toMat(g.points), { k: g.k, init: 'firstK' });
    expect(Array.from(r.labels)).toEqual(g.labels);
    expect(r.iterations).toBe(g.iterations);
    expect(maxAbsDiff(r.centroids, toMat(g.centroids))).toBeLessThan(1e-12);
    expect(Math.abs(r.inertia - g.inertia)).toBeLessThan(1e-12 * g.inertia);
  });
});

// The kernels behind the fast certificates: the exact (f64) products with an f32-stored base,
// the Christoffel bound, and block Krylov top-k — each against an independent result.
import { describe, expect, it } from 'vitest';
import { exactDenseOperator, exactGramLower, compactExact } from '../../../src/compute/exact-dense-operator.ts';
import { tsGemm } from '../../../src/compute/ts-gemm.ts';
import { matOperator } from '../../../src/linalg/mat-operator.ts';
import { christoffelResidual, christoffelAtomBound, gaussAtomBound, quadratureBounds } from '../../../src/diagnostics/quadrature-bound.ts';
import { blockTopSingular } from '../../../src/diagnostics/block-top-singular.ts';
import { fullBasis } from '../../../src/diagnostics/base-basis.ts';
import { createRng } from '../../../src/util/rng.ts';
import type { Mat } from '../../../src/tensor/matrix.ts';

function randomMat(rows: number, cols: number, seed: number, f32 = false): Mat {
  const rng = createRng(seed);
  const data = Float64Array.from({ length: rows * cols }, () => rng.normal());
  return { rows, cols, data: f32 ? Float64Array.from(new Float32Array(data)) : data };
}

/** Base with a decaying spectrum (spikes over a bulk), as the bench's synthetic layers. */
function decayingBase(m: number, n: number, seed: number): Mat {
  const rng = createRng(seed);
  const data = new Float64Array(m * n);
  for (let t = 0; t < Math.min(m, n); t++) {
    const x = Array.from({ length: m }, () => rng.normal());
    const y = Array.from({ length: n }, () => rng.normal());
    const s = 0.3 + 0.9 ** t;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) data[i * n + j]! += (s * x[i]! * y[j]!) / Math.sqrt(m * n);
  }
  return { rows: m, cols: n, data };
}

function unit(length: number, seed: number): Float64Array {
  const rng = createRng(seed);
  const u = Float64Array.from({ length }, () => rng.normal());
  const norm = Math.hypot(...u);
  return u.map((x) => x / norm);
}

describe('exact dense operator (f32 storage, f64 products)', () => {
  it('keeps f32-exact weights in f32 and others in f64', () => {
    expect(compactExact(randomMat(3, 4, 1, true).data)).toBeInstanceOf(Float32Array);
    expect(compactExact(randomMat(3, 4, 1).data)).toBeInstanceOf(Float64Array);
  });

  it('matches tsGemm for W·X and Wᵀ·Y, for 1 to 7 columns, odd row counts and both storages', async () => {
    for (const f32 of [true, false]) {
      const W = randomMat(37, 29, 2, f32);
      const op = exactDenseOperator(W.rows, W.cols, W.data);
      for (let b = 1; b <= 7; b++) {
        const X = randomMat(29, b, 10 + b);
        const Y = randomMat(37, b, 20 + b);
        const got = await op.apply(X);
        const want = tsGemm(W, X);
        got.data.forEach((v, i) => expect(v).toBeCloseTo(want.data[i]!, 11));
        const gotT = await op.applyTranspose(Y);
        const wantT = tsGemm(W, Y, true, false);
        gotT.data.forEach((v, i) => expect(v).toBeCloseTo(wantT.data[i]!, 11));
      }
    }
  });

  it('forms the lower triangle of WᵀW equal to tsGemm (odd and even sizes)', () => {
    for (const cols of [13, 14]) {
      const W = randomMat(41, cols, 3, true);
      const G = exactGramLower(W.rows, W.cols, W.data);
      const want = tsGemm(W, W, true, false);
      for (let i = 0; i < cols; i++) {
        for (let j = 0; j <= i; j++) expect(G[i * cols + j]).toBeCloseTo(want.data[i * cols + j]!, 10);
      }
    }
  });
});

describe('Christoffel bound on the largest atom', () => {
  it('its least-squares residual² equals 1/Σ p_k(λ)² from the three-term recurrence (hand tridiagonal)', () => {
    const alphas = [1.3, 0.7, 2.1, 1.1, 0.4];
    const betas = [0.5, 0.8, 0.3, 0.6];
    const last = 0.45;
    for (const x of [0, 0.3, 1, 1.7, 2.5]) {
      const p = [1];
      let sum = 1;
      for (let k = 1; k <= alphas.length; k++) {
        const bk = k - 1 < betas.length ? betas[k - 1]! : last;
        const v = ((x - alphas[k - 1]!) * p[k - 1]! - (k >= 2 ? betas[k - 2]! * p[k - 2]! : 0)) / bk;
        p.push(v);
        sum += v * v;
      }
      const r = christoffelResidual(alphas, betas, last, x);
      expect(r.f * r.f).toBeCloseTo(1 / sum, 12);
    }
  });

  it('is tighter than the two-node Gauss bound on a uniform measure of 200 atoms, and never below the true atom', () => {
    const N = 200;
    const lam = Array.from({ length: N }, (_, i) => (i + 0.5) / N);
    const alphas: number[] = [];
    const betas: number[] = [];
    let p0 = lam.map(() => 0);
    let p1 = lam.map(() => 1);
    let bprev = 0;
    for (let k = 0; k < 12; k++) {
      const a = lam.reduce((s, l, i) => s + (l * p1[i]! ** 2) / N, 0);
      alphas.push(a);
      const p2 = lam.map((l, i) => (l - a) * p1[i]! - bprev * p0[i]!);
      const b = Math.sqrt(p2.reduce((s, v) => s + v * v / N, 0));
      betas.push(b);
      p0 = p1;
      p1 = p2.map((v) => v / b);
      bprev = b;
    }
    for (const s of [4, 8, 12]) {
      const chr = christoffelAtomBound(alphas.slice(0, s), betas.slice(0, s - 1), betas[s - 1]!, 1.2);
      const gauss = gaussAtomBound(alphas.slice(0, s), betas.slice(0, s - 1), false);
      expect(chr).toBeLessThan(gauss * 0.8);
      expect(chr).toBeGreaterThanOrEqual(Math.sqrt(1 / N));
    }
  });

  it('never undercuts the true max cosine on random bases (full SVD), stopping at any step', async () => {
    for (let trial = 0; trial < 4; trial++) {
      const W0 = decayingBase(40, 55, 100 + trial);
      const u = unit(40, 200 + trial);
      const truth = Math.max(...fullBasis(W0).vectors.map((v) => Math.abs(v.reduce((acc, x, i) => acc + x * u[i]!, 0))));
      let fro = 0;
      for (const x of W0.data) fro += x * x;
      for (const steps of [3, 6, 10, 16]) {
        const [withChristoffel] = await quadratureBounds(matOperator(W0), [u], { maxSteps: steps, checkEvery: 1, stop: () => false, spectrumUpper: fro });
        const [gaussOnly] = await quadratureBounds(matOperator(W0), [u], { maxSteps: steps, checkEvery: 1, stop: () => false });
        expect(withChristoffel!.upper).toBeGreaterThanOrEqual(truth - 1e-9);
        // Stopping at maxSteps is not an exact rule: the two-node bound still holds.
        expect(gaussOnly!.upper).toBeGreaterThanOrEqual(truth - 1e-9);
        expect(withChristoffel!.upper).toBeLessThanOrEqual(gaussOnly!.upper + 1e-12);
      }
    }
  });
});

describe('block Krylov top-k', () => {
  it('finds the top singular values and left vectors of the full SVD, within its certified angle bounds', async () => {
    const W0 = decayingBase(70, 50, 7);
    // As on f32 backends: iterate, then certify every bound from explicit f64 residuals.
    const top = await blockTopSingular(matOperator(W0), 5, { seed: 3, angleTolerance: 1e-9, block: 8, certify: exactDenseOperator(W0.rows, W0.cols, W0.data) });
    const full = fullBasis(W0);
    for (let j = 0; j < 5; j++) {
      expect(top.s[j]).toBeCloseTo(full.sigma[j]!, 8);
      const cos = Math.abs(top.u[j]!.reduce((acc, x, i) => acc + x * full.vectors[j]![i]!, 0));
      const sin = Math.sqrt(Math.max(0, 1 - cos * cos));
      expect(sin).toBeLessThanOrEqual(top.angleBound[j]! + 1e-7);
      expect(top.angleBound[j]).toBeLessThan(1e-6);
    }
  });
});

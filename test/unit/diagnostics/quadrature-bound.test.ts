import { describe, expect, it } from 'vitest';
import { matOperator } from '../../../src/linalg/mat-operator.ts';
import { quadratureBounds, gaussAtomBound } from '../../../src/diagnostics/quadrature-bound.ts';
import { fullBasis } from '../../../src/diagnostics/base-basis.ts';
import { createRng } from '../../../src/util/rng.ts';
import type { Mat } from '../../../src/tensor/matrix.ts';

describe('Gauss-quadrature bound on the largest cosine with any base singular vector', () => {
  it('is exact for the A12 base once Lanczos terminates: u = ½[1,1,1,1] on diag(4,3,2,1) has all cosines ½', async () => {
    const W0: Mat = { rows: 4, cols: 4, data: Float64Array.from([4, 0, 0, 0, 0, 3, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1]) };
    const [b] = await quadratureBounds(matOperator(W0), [Float64Array.from([0.5, 0.5, 0.5, 0.5])], { maxSteps: 10, stop: () => false });
    expect(b!.upper).toBeCloseTo(0.5, 6);
  });

  it('a two-node rule bounds an atom between nodes by the sum of the neighbouring weights', () => {
    // T = [[0,1],[1,0]]: nodes ±1, weights ½ each → between them ≤ 1, capped at 1; exact → ½.
    expect(gaussAtomBound([0, 0], [1], false)).toBe(1);
    expect(gaussAtomBound([0, 0], [1], true)).toBeCloseTo(Math.SQRT1_2, 6);
  });

  it('never undercuts the true max cosine on random bases with decaying spectra (checked against the full SVD)', async () => {
    const rng = createRng(9);
    for (let trial = 0; trial < 5; trial++) {
      const m = 30;
      const n = 40;
      const data = new Float64Array(m * n);
      for (let t = 0; t < m; t++) {
        const x = Array.from({ length: m }, () => rng.normal());
        const y = Array.from({ length: n }, () => rng.normal());
        const s = 0.85 ** t;
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) data[i * n + j]! += (s * x[i]! * y[j]!) / Math.sqrt(m * n);
      }
      const W0: Mat = { rows: m, cols: n, data };
      const u = Float64Array.from({ length: m }, () => rng.normal());
      const norm = Math.hypot(...u);
      for (let i = 0; i < m; i++) u[i] = u[i]! / norm;
      const basis = fullBasis(W0);
      const truth = Math.max(...basis.vectors.map((v) => Math.abs(v.reduce((acc, x, i) => acc + x * u[i]!, 0))));
      for (const steps of [4, 8, 16]) {
        const [b] = await quadratureBounds(matOperator(W0), [u], { maxSteps: steps, checkEvery: steps, stop: () => false });
        expect(b!.upper).toBeGreaterThanOrEqual(truth - 1e-9);
      }
    }
  });
});

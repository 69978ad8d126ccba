// Seeded randomised properties of the kernels (fast-check), over shapes that include the edge cases:
// stacked rank R larger than m or n, single rows/columns, and zero weights.
import { describe, expect } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { lowRankSvd } from '../../../src/linalg/low-rank-svd.ts';
import { svdSmall } from '../../../src/linalg/svd-small.ts';
import { truncateSvd } from '../../../src/linalg/truncate.ts';
import { kmeans } from '../../../src/linalg/kmeans.ts';
import { matmul, transpose, zeros } from '../../../src/tensor/matrix.ts';
import { maxAbs, maxAbsDiff, orthonormalityError, randomMat, reconstruct } from './helpers.ts';

const shape = fc.record({
  m: fc.integer({ min: 1, max: 12 }),
  n: fc.integer({ min: 1, max: 12 }),
  ranks: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }),
  weights: fc.array(fc.constantFrom(0, 1, -0.5, 2.5), { minLength: 4, maxLength: 4 }),
  seed: fc.integer({ min: 0, max: 1_000_000 }),
});

describe('kernel properties (fast-check, 60 runs each, seeded)', () => {
  test.prop([shape], { numRuns: 60, seed: 424242 })(
    'lowRankSvd reconstructs Σ wᵢBᵢAᵢ to 1e-12·max|M| with orthonormal factors and ρ ≤ min(m, n, R)',
    ({ m, n, ranks, weights, seed }) => {
      const terms = ranks.map((r, i) => ({ B: randomMat(m, r, seed + 2 * i), A: randomMat(r, n, seed + 2 * i + 1), weight: weights[i]! }));
      const dense = zeros(m, n);
      for (const t of terms) {
        const p = matmul(t.B, t.A);
        for (let i = 0; i < dense.data.length; i++) dense.data[i]! += t.weight * p.data[i]!;
      }
      const { U, S, Vt } = lowRankSvd(terms);
      const R = ranks.reduce((a, b) => a + b, 0);
      expect(S.length).toBeLessThanOrEqual(Math.min(m, n, R));
      expect(maxAbsDiff(reconstruct(U, S, Vt), dense)).toBeLessThanOrEqual(1e-12 * Math.max(1, maxAbs(dense)));
      if (S.length > 0) {
        expect(orthonormalityError(U)).toBeLessThan(1e-13);
        expect(orthonormalityError(transpose(Vt))).toBeLessThan(1e-13);
      }
    },
  );

  test.prop([shape], { numRuns: 60, seed: 4242 })('svdSmall: descending σ, M = UΣVᵀ to 1e-13·max(1, σ1)', ({ m, n, seed }) => {
    const M = randomMat(m, n, seed);
    const { U, S, Vt } = svdSmall(M);
    for (let j = 1; j < S.length; j++) expect(S[j]).toBeLessThanOrEqual(S[j - 1]!);
    expect(maxAbsDiff(reconstruct(U, S, Vt), M)).toBeLessThan(1e-13 * Math.max(1, S[0]!));
    expect(orthonormalityError(U)).toBeLessThan(1e-13);
  });

  test.prop([shape, fc.integer({ min: 0, max: 12 })], { numRuns: 60, seed: 42 })(
    'truncateSvd: ‖M − BA‖_F² = discarded energy · ‖M‖_F² (Eckart–Young) to 1e-10 relative',
    ({ m, n, seed }, rank) => {
      const M = randomMat(m, n, seed);
      const svd = svdSmall(M);
      const t = truncateSvd(svd, { rank });
      const diff = matmul(t.B, t.A);
      let err = 0;
      let total = 0;
      for (let i = 0; i < M.data.length; i++) {
        err += (M.data[i]! - diff.data[i]!) ** 2;
        total += M.data[i]! ** 2;
      }
      expect(Math.abs(err / total - t.discardedEnergy)).toBeLessThan(1e-10);
      expect(t.keptEnergy + t.discardedEnergy).toBeCloseTo(1, 12);
    },
  );

  test.prop([fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 10_000 })], { numRuns: 40, seed: 7 })(
    'kmeans: labels point to the nearest returned centroid, sizes add up, inertia matches the labels',
    (points, dim, seed) => {
      const X = randomMat(points, dim, seed);
      const k = 1 + (seed % points);
      const r = kmeans(X, { k, seed });
      expect(r.clusterSizes.reduce((a, b) => a + b, 0)).toBe(points);
      let inertia = 0;
      for (let i = 0; i < points; i++) {
        const dists = Array.from({ length: k }, (_, j) => {
          let s = 0;
          for (let t = 0; t < dim; t++) s += (X.data[i * dim + t]! - r.centroids.data[j * dim + t]!) ** 2;
          return s;
        });
        const own = dists[r.labels[i]!]!;
        inertia += own;
        if (r.converged) expect(own).toBeLessThanOrEqual(Math.min(...dists) * (1 + 1e-9) + 1e-12);
      }
      expect(Math.abs(inertia - r.inertia)).toBeLessThanOrEqual(1e-9 * Math.max(1, inertia));
    },
  );
});

import { describe, expect, it } from 'vitest';
import type { Mat } from '../../../src/tensor/matrix.ts';
import { createRng } from '../../../src/util/rng.ts';
import { matOperator } from '../../../src/linalg/mat-operator.ts';
import { qrThin } from '../../../src/linalg/qr.ts';
import { fullBasis, memoryBasisCache } from '../../../src/diagnostics/base-basis.ts';
import { rangeProjector } from '../../../src/diagnostics/range-projection.ts';
import { scanModuleIntruders } from '../../../src/diagnostics/intruder-scan.ts';

/** W0 = U·diag(σ)·Vᵀ with random orthonormal U (m×p), V (n×p) and the bench's decaying spectrum. */
function decayingBase(m: number, n: number, seed: number, sigma?: (i: number, p: number) => number): Mat {
  const rng = createRng(seed);
  const p = Math.min(m, n);
  const gauss = (r: number, c: number): Mat => ({ rows: r, cols: c, data: Float64Array.from({ length: r * c }, () => rng.normal()) });
  const U = qrThin(gauss(m, p)).Q;
  const V = qrThin(gauss(n, p)).Q;
  const s = (i: number): number => (sigma ? sigma(i, p) : 0.3 + 2.3 * (1 - i / p) + 8 * 0.7 ** i);
  const data = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let t = 0; t < p; t++) acc += U.data[i * p + t]! * s(t) * V.data[j * p + t]!;
      data[i * n + j] = acc;
    }
  }
  return { rows: m, cols: n, data };
}

function unitRandom(m: number, rng: ReturnType<typeof createRng>): Float64Array {
  const u = Float64Array.from({ length: m }, () => rng.normal());
  const nn = Math.hypot(...u);
  return u.map((x) => x / nn);
}

describe('projection onto range(W0) with a certified error (tall W0)', () => {
  it('‖p̂‖ and p̂ match U·Uᵀ·u from the full SVD within the stated error bound', async () => {
    const rng = createRng(5);
    for (const [m, n] of [[90, 30], [150, 60]] as const) {
      const W0 = decayingBase(m, n, m + n);
      const projector = rangeProjector(W0)!;
      expect(projector).toBeDefined();
      const basis = fullBasis(W0);
      expect(projector.state.sigmaMinLower).toBeLessThanOrEqual(basis.sigma[n - 1]!);
      const us = [unitRandom(m, rng), unitRandom(m, rng), basis.vectors[3]!.slice()];
      const projected = await projector.project(matOperator(W0), us);
      projected.forEach((pr, j) => {
        const u = us[j]!;
        const exact = new Float64Array(m);
        for (const q of basis.vectors) {
          let c = 0;
          for (let i = 0; i < m; i++) c += q[i]! * u[i]!;
          for (let i = 0; i < m; i++) exact[i] = exact[i]! + c * q[i]!;
        }
        let diff = 0;
        for (let i = 0; i < m; i++) diff += (exact[i]! - pr.p[i]!) ** 2;
        expect(Math.sqrt(diff)).toBeLessThanOrEqual(pr.error + 1e-12);
        expect(pr.error).toBeLessThan(1e-8);
        expect(Math.abs(pr.norm - Math.hypot(...exact))).toBeLessThan(1e-9);
      });
      // A base left singular vector lies in the range: its projection is itself.
      expect(projected[2]!.norm).toBeCloseTo(1, 10);
    }
  });

  it('refuses square/wide weights and ill-conditioned ones (σ_min/σ₁ below 1e-6), leaving them to the full SVD', () => {
    const square = decayingBase(20, 20, 1);
    expect(rangeProjector(square)).toBeUndefined();
    const bad = decayingBase(40, 10, 2, (i) => (i === 9 ? 1e-9 : 1 + i));
    expect(rangeProjector(bad)).toBeUndefined();
  });
});

describe('tall modules: the auto route decides intruders without the full SVD and agrees with it', () => {
  it('gives the full route counts for k ∈ {5, 10}, ε ∈ {0.3, 0.5, 0.7} on tall bases with decaying spectra', async () => {
    let decidedWithoutFull = 0;
    let tallCases = 0;
    for (const [m, n, seed] of [[160, 64, 1], [200, 80, 2], [240, 64, 3]] as const) {
      const rng = createRng(seed + 100);
      const W0 = decayingBase(m, n, seed);
      const r = 8;
      const B: Mat = { rows: m, cols: r, data: Float64Array.from({ length: m * r }, () => rng.normal() / Math.sqrt(m)) };
      const A: Mat = { rows: r, cols: n, data: Float64Array.from({ length: r * n }, () => rng.normal() / Math.sqrt(n)) };
      const common = { k: 10, epsilons: [0.3, 0.5, 0.7], sweep: [], seed: 7, baseKey: `tall-${seed}` };
      const full = await scanModuleIntruders(W0, B, A, 4, { ...common, route: 'full', cache: memoryBasisCache() });
      const cache = memoryBasisCache();
      const auto = await scanModuleIntruders(W0, B, A, 4, { ...common, route: 'auto', cache });
      // A second adapter on the same base reuses the cached basis and projector (built on the first scan's W0).
      const again = await scanModuleIntruders(W0, B, A, 4, { ...common, seed: 8, route: 'auto', cache });
      expect(await cache.getProjector(common.baseKey)).toBeDefined();
      expect(again.base.decompositions).toBe(0);
      expect(again.counts.map((c) => c.intruders)).toEqual(full.counts.map((c) => c.intruders));
      tallCases++;
      if (!auto.base.fullSvd) decidedWithoutFull++;
      for (const k of [5, 10]) {
        for (const eps of [0.3, 0.5, 0.7]) {
          const want = full.vectors.slice(0, k).filter((v) => v.maxCosUpper < eps).length;
          const got = auto.vectors.slice(0, k).filter((v) => v.maxCosUpper < eps).length;
          const notGot = auto.vectors.slice(0, k).filter((v) => v.maxCosLower >= eps).length;
          expect(got, `${m}×${n} k=${k} ε=${eps}`).toBe(want);
          expect(got + notGot).toBe(k);
        }
      }
      // Certified intervals contain the full-SVD value.
      auto.vectors.forEach((v, j) => {
        expect(v.maxCosLower).toBeLessThanOrEqual(full.vectors[j]!.maxCosLower + 1e-9);
        expect(v.maxCosUpper).toBeGreaterThanOrEqual(full.vectors[j]!.maxCosUpper - 1e-9);
      });
      // Intruders exist in these cases (B leaves range(W0)), so the projection was needed.
      expect(full.counts[1]!.intruders).toBeGreaterThan(0);
    }
    expect(decidedWithoutFull).toBe(tallCases);
  });
});

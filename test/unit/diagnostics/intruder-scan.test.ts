import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromRows } from '../../../src/tensor/matrix.ts';
import { scanModuleIntruders } from '../../../src/diagnostics/intruder-scan.ts';
import { memoryBasisCache } from '../../../src/diagnostics/base-basis.ts';
import { selectBackend } from '../../../src/compute/select-backend.ts';
import { cosineBounds, decide } from '../../../src/diagnostics/certified-decision.ts';

interface GoldenCase {
  name: string;
  scale: number;
  W0: number[][];
  B: number[][];
  A: number[][];
  tunedSigma: number[];
  maxCos: number[];
  counts: Record<string, number>;
}
const golden = JSON.parse(
  readFileSync(new URL('../../../fixtures/golden/intruder/golden.json', import.meta.url), 'utf8'),
) as { cases: GoldenCase[] };

// A12: W0 = diag(4,3,2,1), ΔW = 2.5·ones(4,4) as B = √10·u, A = √10·uᵀ, u = ½[1,1,1,1].
const W0 = fromRows([
  [4, 0, 0, 0],
  [0, 3, 0, 0],
  [0, 0, 2, 0],
  [0, 0, 0, 1],
]);
const h = Math.sqrt(10) / 2;
const B = fromRows([[h], [h], [h], [h]]);
const A = fromRows([[h, h, h, h]]);

describe('A12: intruder dimensions of diag(4,3,2,1) + 2.5·ones', () => {
  it('finds the tuned spectrum, the max cosines and the counts at every ε and k of A12', async () => {
    const result = await scanModuleIntruders(W0, B, A, 1, {
      k: 4,
      epsilons: [0.5, 0.6, 0.9],
      sweep: [],
      seed: 1,
      route: 'full',
      cache: memoryBasisCache(),
      baseKey: 'a12',
    });
    const sigma = [12.62444, 3.57604, 2.45533, 1.3442];
    result.tunedSigma.forEach((s, j) => expect(s).toBeCloseTo(sigma[j]!, 4));
    const c = [0.57616, 0.7806, 0.72862, 0.86533];
    result.vectors.forEach((v, j) => {
      expect(v.maxCosLower).toBeCloseTo(c[j]!, 5);
      expect(v.maxCosUpper).toBeCloseTo(c[j]!, 5);
    });
    expect(result.counts.map((x) => x.intruders)).toEqual([0, 1, 4]);
    // The counts for smaller k are prefixes of the vector list.
    const at = (eps: number, k: number): number => result.vectors.slice(0, k).filter((v) => v.maxCosUpper < eps).length;
    expect([at(0.6, 1), at(0.6, 2), at(0.6, 4), at(0.9, 2), at(0.5, 1)]).toEqual([1, 1, 1, 2, 0]);
  });

  it('certified partial basis: K0 = 2 leaves the top vector undecided at ε = 0.6, K0 = 3 certifies it', () => {
    const u = new Float64Array([0.57616, 0.5163, 0.4677, 0.42747]);
    const norm = Math.hypot(...u);
    const unit = u.map((x) => x / norm);
    const e = (i: number): Float64Array => Float64Array.from([0, 1, 2, 3], (j) => (j === i ? 1 : 0));
    const two = cosineBounds(unit, [e(0), e(1)], false);
    expect(two.maxKnown).toBeCloseTo(0.57616, 4);
    expect(two.rho).toBeCloseTo(0.63362, 4);
    expect(decide(two, 0.6)).toBe('undecided');
    const three = cosineBounds(unit, [e(0), e(1), e(2)], false);
    expect(three.rho).toBeCloseTo(0.42747, 4);
    expect(decide(three, 0.6)).toBe('intruder');
    expect(decide(three, 0.5)).toBe('not-intruder');
  });
});

describe('intruder counts equal the full-SVD definition computed by numpy', () => {
  for (const c of golden.cases) {
    for (const route of ['auto', 'full'] as const) {
      it(`${c.name}: route ${route} gives numpy's counts for k ∈ {5, 10}, ε ∈ {0.3, 0.5, 0.7}`, async () => {
        const cache = memoryBasisCache();
        const result = await scanModuleIntruders(fromRows(c.W0), fromRows(c.B), fromRows(c.A), c.scale, {
          k: 10,
          epsilons: [0.3, 0.5, 0.7],
          sweep: [0.1, 0.9],
          seed: 7,
          route,
          cache,
          baseKey: c.name,
        });
        result.tunedSigma.forEach((s, j) => expect(s).toBeCloseTo(c.tunedSigma[j]!, 8));
        for (const k of [5, 10]) {
          for (const eps of [0.3, 0.5, 0.7]) {
            const count = result.vectors.slice(0, k).filter((v) => v.maxCosUpper < eps).length;
            const notCount = result.vectors.slice(0, k).filter((v) => v.maxCosLower >= eps).length;
            expect(count, `k=${k} ε=${eps}`).toBe(c.counts[`k${k}_eps${eps}`]);
            expect(count + notCount, `all decided at k=${k} ε=${eps}`).toBe(k);
          }
        }
        // Every exact (full-route) cosine equals numpy's.
        result.vectors.forEach((v, j) => {
          expect(v.maxCosLower).toBeLessThanOrEqual(c.maxCos[j]! + 1e-8);
          expect(v.maxCosUpper).toBeGreaterThanOrEqual(c.maxCos[j]! - 1e-8);
          if (v.route === 'full-svd') expect(v.maxCosLower).toBeCloseTo(c.maxCos[j]!, 8);
        });
      });
    }
  }
});

describe('the auto route avoids the full SVD where it can prove the answer', () => {
  it('decides some vectors by the certified partial basis and some by the quadrature bound, and says which', async () => {
    const routes: Record<string, number> = {};
    let fullSvds = 0;
    for (const c of golden.cases) {
      const result = await scanModuleIntruders(fromRows(c.W0), fromRows(c.B), fromRows(c.A), c.scale, {
        k: 10, epsilons: [0.5], sweep: [], seed: 7, route: 'auto', cache: memoryBasisCache(), baseKey: c.name,
      });
      for (const v of result.vectors) routes[v.route] = (routes[v.route] ?? 0) + 1;
      if (result.base.fullSvd) fullSvds++;
      const total = result.counts[0]!;
      expect(total.byRoute['partial-basis'] + total.byRoute['quadrature-bound'] + total.byRoute['full-svd']).toBe(total.intruders);
    }
    expect(routes['partial-basis']).toBeGreaterThan(0);
    expect(routes['quadrature-bound']).toBeGreaterThan(0);
    expect(fullSvds).toBeLessThan(golden.cases.length);
  });
});

// 'backend': W0 resident on the f32 backend, iterations in f32 there, certificates in f64 (what GPU
// backends do); 'auto': on this CPU backend the iterations run in the f64 WebAssembly SIMD kernels.
describe.each(['backend', 'auto'] as const)('the wasm backend, iterations %s: certificates in f64', (iterations) => {
  it("gives numpy's counts on every golden case, route auto, with every vector decided and no cosine interval excluding numpy's", async () => {
    const { backend } = await selectBackend({ backend: 'wasm' });
    expect(backend.epsilon).toBeGreaterThan(1e-10);
    for (const c of golden.cases) {
      const result = await scanModuleIntruders(fromRows(c.W0), fromRows(c.B), fromRows(c.A), c.scale, {
        k: 10, epsilons: [0.3, 0.5, 0.7], sweep: [], seed: 7, route: 'auto', cache: memoryBasisCache(), baseKey: c.name, backend, iterations,
      });
      // f32 iterations: values to f32-level accuracy (~1e-5); the f64 kernels' to 1e-7 (block Krylov at a 1e-9 angle).
      const sigmaTol = iterations === 'backend' ? 1e-4 : 1e-7;
      result.tunedSigma.forEach((s, j) => expect(Math.abs(s - c.tunedSigma[j]!) / c.tunedSigma[0]!).toBeLessThan(sigmaTol));
      for (const k of [5, 10]) {
        for (const eps of [0.3, 0.5, 0.7]) {
          const count = result.vectors.slice(0, k).filter((v) => v.maxCosUpper < eps).length;
          const notCount = result.vectors.slice(0, k).filter((v) => v.maxCosLower >= eps).length;
          expect(count, `${c.name} k=${k} ε=${eps}`).toBe(c.counts[`k${k}_eps${eps}`]);
          expect(count + notCount, `${c.name}: all decided at k=${k} ε=${eps}`).toBe(k);
        }
      }
      result.vectors.forEach((v, j) => {
        const tol = 1e-8; // f64-certified intervals contain numpy's value on every route
        expect(v.maxCosLower).toBeLessThanOrEqual(c.maxCos[j]! + tol);
        expect(v.maxCosUpper).toBeGreaterThanOrEqual(c.maxCos[j]! - tol);
      });
    }
  });
});

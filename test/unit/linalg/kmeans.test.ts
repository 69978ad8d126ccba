import { describe, expect, it } from 'vitest';
import { kmeans, kmeansSteps } from '../../../src/linalg/kmeans.ts';
import { fromRows, zeros } from '../../../src/tensor/matrix.ts';
import { createRng } from '../../../src/util/rng.ts';
import { maxAbsDiff } from './helpers.ts';

// A11: MSUs (b; a) of two rank-2 adapters on a 2×2 module.
const a11 = fromRows([
  [1, 0, 1, 0],
  [0, 1, 0, 1],
  [1, 0, 0.6, 0.8],
  [0, 2, 0, 2],
]);

function blobs(perCluster: number, centres: number, dim: number, seed: number) {
  const rng = createRng(seed);
  const points = zeros(perCluster * centres, dim);
  const truth: number[] = [];
  for (let c = 0; c < centres; c++) {
    const centre = Array.from({ length: dim }, () => 10 * rng.normal());
    for (let p = 0; p < perCluster; p++) {
      const row = c * perCluster + p;
      truth.push(c);
      for (let t = 0; t < dim; t++) points.data[row * dim + t] = centre[t]! + rng.normal();
    }
  }
  return { points, truth };
}

describe('kmeans (own Lloyd loop, f64)', () => {
  it('A11: firstK init converges in one update to labels [0,1,0,1], c1 = (1,0,0.8,0.4), c2 = (0,1.5,0,1.5) (1e-12)', () => {
    const r = kmeans(a11, { k: 2, init: 'firstK' });
    expect(Array.from(r.labels)).toEqual([0, 1, 0, 1]);
    expect(maxAbsDiff(r.centroids, fromRows([[1, 0, 0.8, 0.4], [0, 1.5, 0, 1.5]]))).toBeLessThan(1e-12);
    expect(r.iterations).toBe(1);
    expect(r.converged).toBe(true);
    expect(r.clusterSizes).toEqual([2, 2]);
    // inertia: u1,u3 to c1: 0.2 + 0.2; u2,u4 to c2: 0.5 + 0.5 → 1.4
    expect(r.inertia).toBeCloseTo(1.4, 12);
  });

  it('breaks an exact tie towards the lowest centroid index', () => {
    // Point 2 at 0 is equidistant from points 0 (−1) and 1 (+1).
    const r = kmeans(fromRows([[-1], [1], [0]]), { k: 2, init: 'firstK', maxIterations: 1 });
    expect(r.labels[2]).toBe(0);
  });

  it('re-seeds an empty cluster with the farthest point: duplicate first points with firstK', () => {
    const pts = fromRows([[0], [0], [10], [11]]);
    const r = kmeans(pts, { k: 2, init: 'firstK' });
    // Centroid 1 starts on a duplicate of centroid 0 and would stay empty; it gets point 3 (farthest).
    expect(Array.from(r.labels)).toEqual([0, 0, 1, 1]);
    expect(r.clusterSizes).toEqual([2, 2]);
    expect(maxAbsDiff(r.centroids, fromRows([[0], [10.5]]))).toBeLessThan(1e-12);
  });

  it('recovers 4 well-separated blobs in 64 dims with seeded kmeans++ and is reproducible for a seed', () => {
    const { points, truth } = blobs(10, 4, 64, 3);
    const a = kmeans(points, { k: 4, seed: 11 });
    const b = kmeans(points, { k: 4, seed: 11 });
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
    // Same partition as the truth (labels may be permuted).
    const mapping = new Map<number, number>();
    truth.forEach((t, i) => {
      const l = a.labels[i]!;
      if (!mapping.has(t)) mapping.set(t, l);
      expect(mapping.get(t)).toBe(l);
    });
    expect(new Set(mapping.values()).size).toBe(4);
  });

  it('keeps the lowest inertia over nInit restarts (never worse than the first run)', () => {
    const { points } = blobs(6, 5, 8, 5);
    const single = kmeans(points, { k: 5, init: 'randomSubset', seed: 1 });
    const multi = kmeans(points, { k: 5, init: 'randomSubset', seed: 1, nInit: 6 });
    expect(multi.inertia).toBeLessThanOrEqual(single.inertia);
  });

  it('k = number of points gives every point its own cluster and zero inertia', () => {
    const r = kmeans(a11, { k: 4, init: 'kmeans++', seed: 9 });
    expect(new Set(r.labels).size).toBe(4);
    expect(r.inertia).toBe(0);
  });

  it('yields one step per centroid update through the generator form', () => {
    const gen = kmeansSteps(a11, { k: 2, init: 'firstK' });
    const first = gen.next();
    expect(first.done).toBe(false);
    if (!first.done) {
      expect(first.value.iteration).toBe(1);
      expect(first.value.changed).toBe(4);
    }
    const last = gen.next();
    expect(last.done).toBe(true);
  });

  it('refuses k > points and k = 0 with KMEANS_INVALID, and stops with ABORTED on a fired signal', () => {
    expect(() => kmeans(a11, { k: 5 })).toThrow(expect.objectContaining({ code: 'KMEANS_INVALID' }));
    expect(() => kmeans(a11, { k: 0 })).toThrow(expect.objectContaining({ code: 'KMEANS_INVALID' }));
    const controller = new AbortController();
    controller.abort();
    expect(() => kmeans(a11, { k: 2, signal: controller.signal })).toThrow(expect.objectContaining({ code: 'ABORTED' }));
  });
});

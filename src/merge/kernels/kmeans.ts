// Seeded Lloyd k-means over the rows of a points matrix (algorithms.md §1.4):
// kmeans++ / firstK / randomSubset init, argmin ties to the lowest index, empty
// clusters re-seeded with the point farthest from its centroid, nInit restarts.
import type { Mat } from '../../tensor/matrix.ts';
import { zeros } from '../../tensor/matrix.ts';
import { createRng, type Rng } from '../../util/rng.ts';

export const KMEANS_INITS = ['kmeans++', 'firstK', 'randomSubset'] as const;
export type KmeansInit = (typeof KMEANS_INITS)[number];

export interface KmeansOptions {
  readonly k: number;
  readonly init: KmeansInit;
  readonly seed: number;
  readonly maxIterations: number;
  readonly nInit: number;
}

export interface KmeansResult {
  readonly labels: Int32Array;
  readonly centroids: Mat;
  readonly inertia: number;
  readonly iterations: number;
  readonly clusterSizes: readonly number[];
  /** Clusters that stayed empty after re-seeding (the merged rank drops by this much). */
  readonly emptyClusters: number;
}

function dist2(p: Mat, i: number, c: Mat, j: number): number {
  const d = p.cols;
  let s = 0;
  for (let t = 0; t < d; t++) {
    const x = p.data[i * d + t]! - c.data[j * d + t]!;
    s += x * x;
  }
  return s;
}

function initCentroids(points: Mat, k: number, init: KmeansInit, rng: Rng): Mat {
  const n = points.rows;
  const d = points.cols;
  const c = zeros(k, d);
  const copy = (row: number, into: number): void => {
    c.data.set(points.data.subarray(row * d, (row + 1) * d), into * d);
  };
  if (init === 'firstK') {
    for (let j = 0; j < k; j++) copy(j, j);
    return c;
  }
  if (init === 'randomSubset') {
    const idx = Array.from({ length: n }, (_, i) => i);
    for (let j = 0; j < k; j++) {
      const pick = j + rng.int(n - j);
      [idx[j], idx[pick]] = [idx[pick]!, idx[j]!];
      copy(idx[j]!, j);
    }
    return c;
  }
  copy(rng.int(n), 0);
  const best = new Float64Array(n).fill(Infinity);
  for (let j = 1; j < k; j++) {
    let total = 0;
    for (let i = 0; i < n; i++) {
      best[i] = Math.min(best[i]!, dist2(points, i, c, j - 1));
      total += best[i]!;
    }
    let chosen = 0;
    if (total > 0) {
      let target = rng.next() * total;
      for (let i = 0; i < n; i++) {
        target -= best[i]!;
        if (target < 0) {
          chosen = i;
          break;
        }
        chosen = i;
      }
    } else {
      chosen = j % n;
    }
    copy(chosen, j);
  }
  return c;
}

function lloyd(points: Mat, centroids: Mat, maxIterations: number): KmeansResult {
  const n = points.rows;
  const d = points.cols;
  const k = centroids.rows;
  const labels = new Int32Array(n).fill(-1);
  let iterations = 0;
  let emptyClusters = 0;
  for (; iterations < maxIterations; iterations++) {
    let changed = false;
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestD = Infinity;
      for (let j = 0; j < k; j++) {
        const dd = dist2(points, i, centroids, j);
        if (dd < bestD) {
          bestD = dd;
          best = j;
        }
      }
      if (labels[i] !== best) {
        labels[i] = best;
        changed = true;
      }
    }
    if (!changed && iterations > 0) break;
    emptyClusters = recompute(points, centroids, labels);
    if (!changed) break;
  }
  const sizes = new Array<number>(k).fill(0);
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    sizes[labels[i]!]!++;
    inertia += dist2(points, i, centroids, labels[i]!);
  }
  return { labels, centroids, inertia, iterations, clusterSizes: sizes, emptyClusters };
}

/** Means of the clusters; an empty cluster takes the point farthest from its own centroid. */
function recompute(points: Mat, centroids: Mat, labels: Int32Array): number {
  const n = points.rows;
  const d = points.cols;
  const k = centroids.rows;
  const sums = new Float64Array(k * d);
  const counts = new Array<number>(k).fill(0);
  for (let i = 0; i < n; i++) {
    const j = labels[i]!;
    counts[j]!++;
    for (let t = 0; t < d; t++) sums[j * d + t]! += points.data[i * d + t]!;
  }
  let empty = 0;
  for (let j = 0; j < k; j++) {
    if (counts[j]! > 0) {
      for (let t = 0; t < d; t++) centroids.data[j * d + t] = sums[j * d + t]! / counts[j]!;
      continue;
    }
    let far = -1;
    let farD = -1;
    for (let i = 0; i < n; i++) {
      if (counts[labels[i]!]! <= 1) continue;
      const dd = dist2(points, i, centroids, labels[i]!);
      if (dd > farD) {
        farD = dd;
        far = i;
      }
    }
    if (far < 0 || farD <= 0) {
      empty++;
      continue;
    }
    counts[labels[far]!]!--;
    labels[far] = j;
    counts[j] = 1;
    centroids.data.set(points.data.subarray(far * d, (far + 1) * d), j * d);
  }
  return empty;
}

export function kmeans(points: Mat, options: KmeansOptions): KmeansResult {
  const { k, init, seed, maxIterations, nInit } = options;
  if (k >= points.rows) {
    const labels = Int32Array.from({ length: points.rows }, (_, i) => i);
    const c = zeros(points.rows, points.cols);
    c.data.set(points.data);
    return { labels, centroids: c, inertia: 0, iterations: 0, clusterSizes: new Array<number>(points.rows).fill(1), emptyClusters: 0 };
  }
  const rng = createRng(seed);
  let best: KmeansResult | undefined;
  const runs = init === 'firstK' ? 1 : Math.max(1, nInit);
  for (let run = 0; run < runs; run++) {
    const result = lloyd(points, initCentroids(points, k, init, rng), maxIterations);
    if (!best || result.inertia < best.inertia) best = result;
  }
  return best!;
}

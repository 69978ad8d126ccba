// Lloyd k-means over the rows of a Mat (LoRA-LEGO's MSU vectors, algorithms.md §1.4), in f64.
// Our own loop rather than ml-kmeans: see docs/decisions/linalg.md (ml-kmeans's kmeans++ init
// dominates its run time, it needs number[][] input, and it has no argmin tie rule or empty-cluster
// re-seeding). Deterministic for a seed: same input, same labels, on every platform.
import { WorkbenchError, throwIfAborted } from '../errors.ts';
import { createRng, DEFAULT_SEED } from '../util/rng.ts';
import type { Rng } from '../util/rng.ts';
import { zeros } from '../tensor/matrix.ts';
import type { Mat } from '../tensor/matrix.ts';

export const KMEANS_INITS = ['kmeans++', 'firstK', 'randomSubset'] as const;
export type KmeansInit = (typeof KMEANS_INITS)[number];

export interface KmeansOptions {
  readonly k: number;
  /** Default 'kmeans++' (seeded D² sampling); 'firstK' takes the first k points (deterministic tests). */
  readonly init?: KmeansInit;
  readonly seed?: number;
  /** Lloyd updates per run (default 100); a run also stops when no label changes. */
  readonly maxIterations?: number;
  /** Restarts with seeds seed, seed+1, …; the lowest inertia wins (earliest on ties). Default 1. */
  readonly nInit?: number;
  readonly signal?: AbortSignal;
}

export interface KmeansResult {
  /** Cluster index of every point. */
  readonly labels: Int32Array;
  /** k×d. A cluster left empty keeps its last centroid and has size 0. */
  readonly centroids: Mat;
  /** Σ ‖x_i − c_{label_i}‖². */
  readonly inertia: number;
  /** Lloyd centroid updates in the winning run. */
  readonly iterations: number;
  readonly clusterSizes: number[];
  /** Restart that produced this result (0-based). */
  readonly run: number;
  /** Whether the winning run stopped because no label changed (rather than at maxIterations). */
  readonly converged: boolean;
}

/** State after one Lloyd update, yielded by kmeansSteps for progress reporting. */
export interface KmeansStep {
  readonly run: number;
  readonly iteration: number;
  /** Labels changed by this iteration's assignment. */
  readonly changed: number;
  /** Inertia of the assignment against the centroids it was made with. */
  readonly inertia: number;
  readonly labels: Int32Array;
  readonly centroids: Mat;
}

function validate(points: Mat, options: KmeansOptions): void {
  const { k } = options;
  if (points.rows === 0 || points.cols === 0) {
    throw new WorkbenchError('KMEANS_INVALID', `k-means needs at least one point of dimension ≥ 1, got ${points.rows}×${points.cols}`, {
      details: { points: points.rows, dimension: points.cols },
    });
  }
  if (!Number.isInteger(k) || k < 1 || k > points.rows) {
    throw new WorkbenchError('KMEANS_INVALID', `k-means needs an integer 1 ≤ k ≤ ${points.rows} (the number of points), got k = ${k}`, {
      details: { k, points: points.rows },
    });
  }
  const { maxIterations = 100, nInit = 1, init = 'kmeans++' } = options;
  if (!Number.isInteger(maxIterations) || maxIterations < 1 || !Number.isInteger(nInit) || nInit < 1) {
    throw new WorkbenchError('INVALID_ARGUMENT', `k-means maxIterations and nInit must be positive integers, got ${maxIterations} and ${nInit}`, {
      details: { maxIterations, nInit },
    });
  }
  if (!(KMEANS_INITS as readonly string[]).includes(init)) {
    throw new WorkbenchError('INVALID_ARGUMENT', `unknown k-means init "${init}" (choose one of ${KMEANS_INITS.join(', ')})`, { details: { init } });
  }
  const d = points.data;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i]!)) {
      const row = Math.floor(i / points.cols);
      throw new WorkbenchError('LINALG_NONFINITE', `k-means point ${row} holds a non-finite value at dimension ${i - row * points.cols}`, {
        details: { point: row, dimension: i - row * points.cols },
      });
    }
  }
}

/** ‖x_i − c_j‖², computed directly (not as ‖x‖²+‖c‖²−2x·c) so that exact ties stay exact. */
function sqDist(x: Float64Array, xOff: number, c: Float64Array, cOff: number, d: number): number {
  let s = 0;
  for (let t = 0; t < d; t++) {
    const v = x[xOff + t]! - c[cOff + t]!;
    s += v * v;
  }
  return s;
}

/** The k×d starting centroids a run with this init and seed uses (exported for benchmarks and tests). */
export function kmeansInitialCentroids(points: Mat, k: number, init: KmeansInit, seed: number): Mat {
  validate(points, { k, init });
  return initialCentroids(points, k, init, createRng(seed >>> 0));
}

function initialCentroids(points: Mat, k: number, init: KmeansInit, rng: Rng): Mat {
  const { rows: n, cols: d, data } = points;
  const chosen: number[] = [];
  if (init === 'firstK') {
    for (let j = 0; j < k; j++) chosen.push(j);
  } else if (init === 'randomSubset') {
    // Partial Fisher–Yates: k distinct indices.
    const idx = Int32Array.from({ length: n }, (_, i) => i);
    for (let j = 0; j < k; j++) {
      const r = j + rng.int(n - j);
      const t = idx[j]!;
      idx[j] = idx[r]!;
      idx[r] = t;
      chosen.push(idx[j]!);
    }
  } else {
    // kmeans++ (Arthur & Vassilvitskii): first centre uniform, then D² sampling.
    const minD = new Float64Array(n).fill(Infinity);
    const taken = new Uint8Array(n);
    let next = rng.int(n);
    for (let j = 0; j < k; j++) {
      chosen.push(next);
      taken[next] = 1;
      let total = 0;
      for (let i = 0; i < n; i++) {
        const dist = sqDist(data, i * d, data, next * d, d);
        if (dist < minD[i]!) minD[i] = dist;
        total += minD[i]!;
      }
      if (j === k - 1) break;
      if (total > 0) {
        let target = rng.next() * total;
        next = -1;
        for (let i = 0; i < n; i++) {
          target -= minD[i]!;
          if (target < 0 && minD[i]! > 0) {
            next = i;
            break;
          }
        }
        if (next < 0) {
          // Round-off at the end of the cumulative sum: take the last point with positive weight.
          for (let i = n - 1; i >= 0; i--) {
            if (minD[i]! > 0) {
              next = i;
              break;
            }
          }
        }
      } else {
        // Every point coincides with a chosen centre: take the first unchosen point.
        next = taken.indexOf(0);
      }
    }
  }
  const centroids = zeros(k, d);
  chosen.forEach((p, j) => centroids.data.set(data.subarray(p * d, (p + 1) * d), j * d));
  return centroids;
}

/**
 * Assigns every point to its nearest centroid (lowest index on ties). Returns the number of labels
 * that changed and fills `dist` with each point's squared distance to its centroid.
 */
function assign(points: Mat, centroids: Mat, labels: Int32Array, dist: Float64Array): number {
  const { rows: n, cols: d, data } = points;
  const k = centroids.rows;
  let changed = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestD = Infinity;
    for (let j = 0; j < k; j++) {
      const v = sqDist(data, i * d, centroids.data, j * d, d);
      if (v < bestD) {
        bestD = v;
        best = j;
      }
    }
    if (labels[i] !== best) changed++;
    labels[i] = best;
    dist[i] = bestD;
  }
  return changed;
}

/** Gives each empty cluster the point farthest from its centroid among clusters of size > 1. */
function reseedEmpty(labels: Int32Array, dist: Float64Array, sizes: Int32Array): number {
  let moved = 0;
  for (let j = 0; j < sizes.length; j++) {
    if (sizes[j] !== 0) continue;
    let far = -1;
    for (let i = 0; i < labels.length; i++) {
      if (sizes[labels[i]!]! > 1 && (far < 0 || dist[i]! > dist[far]!)) far = i;
    }
    if (far < 0) continue;
    sizes[labels[far]!]!--;
    labels[far] = j;
    sizes[j] = 1;
    dist[far] = 0;
    moved++;
  }
  return moved;
}

function updateCentroids(points: Mat, labels: Int32Array, centroids: Mat, sizes: Int32Array): void {
  const { rows: n, cols: d, data } = points;
  const k = centroids.rows;
  const sums = new Float64Array(k * d);
  for (let i = 0; i < n; i++) {
    const off = labels[i]! * d;
    for (let t = 0; t < d; t++) sums[off + t]! += data[i * d + t]!;
  }
  for (let j = 0; j < k; j++) {
    const size = sizes[j]!;
    if (size === 0) continue; // keeps the stale centroid
    for (let t = 0; t < d; t++) centroids.data[j * d + t] = sums[j * d + t]! / size;
  }
}

function countSizes(labels: Int32Array, k: number): Int32Array {
  const sizes = new Int32Array(k);
  for (const l of labels) sizes[l]!++;
  return sizes;
}

/**
 * Lloyd iterations as a generator: yields one KmeansStep per centroid update (across all nInit
 * runs) and returns the best run. The caller may stop early or check an AbortSignal between steps.
 */
export function* kmeansSteps(points: Mat, options: KmeansOptions): Generator<KmeansStep, KmeansResult, void> {
  validate(points, options);
  const { k, init = 'kmeans++', seed = DEFAULT_SEED, maxIterations = 100, nInit = 1, signal } = options;
  const n = points.rows;
  let best: KmeansResult | undefined;
  for (let run = 0; run < nInit; run++) {
    const rng = createRng((seed + run) >>> 0);
    const centroids = initialCentroids(points, k, init, rng);
    const labels = new Int32Array(n).fill(-1);
    const dist = new Float64Array(n);
    let iterations = 0;
    let converged = false;
    for (;;) {
      throwIfAborted(signal, 'k-means');
      let changed = assign(points, centroids, labels, dist);
      const sizes = countSizes(labels, k);
      changed += reseedEmpty(labels, dist, sizes);
      if (changed === 0) {
        converged = true;
        break;
      }
      if (iterations >= maxIterations) break;
      let inertia = 0;
      for (const v of dist) inertia += v;
      updateCentroids(points, labels, centroids, sizes);
      iterations++;
      yield { run, iteration: iterations, changed, inertia, labels: labels.slice(), centroids: { rows: k, cols: points.cols, data: centroids.data.slice() } };
    }
    // When the cap was hit, the labels were made with the previous centroids: re-assign once so
    // labels, centroids and inertia agree.
    if (!converged) assign(points, centroids, labels, dist);
    const sizes = countSizes(labels, k);
    let inertia = 0;
    for (const v of dist) inertia += v;
    if (best === undefined || inertia < best.inertia) {
      best = { labels, centroids, inertia, iterations, clusterSizes: Array.from(sizes), run, converged };
    }
  }
  return best!;
}

/** k-means to convergence (or maxIterations), best of nInit seeded runs. */
export function kmeans(points: Mat, options: KmeansOptions): KmeansResult {
  const steps = kmeansSteps(points, options);
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

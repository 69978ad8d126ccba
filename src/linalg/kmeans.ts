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
  /** Default 'kmeans++' (seeded greedy D² sampling); 'firstK' takes the first k points (deterministic tests). */
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
  /** Σ ‖x_i − c_{label_i}‖², computed exactly (not from the screened distances). */
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

/** ‖x_i − c_j‖², computed directly: the exact tie-breaker and the final inertia. */
function sqDist(x: Float64Array, xOff: number, c: Float64Array, cOff: number, d: number): number {
  let s = 0;
  for (let t = 0; t < d; t++) {
    const v = x[xOff + t]! - c[cOff + t]!;
    s += v * v;
  }
  return s;
}

function dot(x: Float64Array, xOff: number, c: Float64Array, cOff: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let t = 0;
  for (; t + 4 <= d; t += 4) {
    s0 += x[xOff + t]! * c[cOff + t]!;
    s1 += x[xOff + t + 1]! * c[cOff + t + 1]!;
    s2 += x[xOff + t + 2]! * c[cOff + t + 2]!;
    s3 += x[xOff + t + 3]! * c[cOff + t + 3]!;
  }
  for (; t < d; t++) s0 += x[xOff + t]! * c[cOff + t]!;
  return s0 + s1 + (s2 + s3);
}

function rowNorms(m: Mat): Float64Array {
  const out = new Float64Array(m.rows);
  for (let i = 0; i < m.rows; i++) out[i] = dot(m.data, i * m.cols, m.data, i * m.cols, m.cols);
  return out;
}

/** Relative slack under which two expanded distances ‖x‖²+‖c‖²−2x·c count as a possible tie. */
const TIE_SLACK = 1e-10;

/** Squared distances from point p to every point, by ‖x‖²+‖y‖²−2x·y (0 below its round-off). */
function distancesFrom(points: Mat, norms: Float64Array, p: number, out: Float64Array): void {
  const { rows: n, cols: d, data } = points;
  for (let i = 0; i < n; i++) {
    const v = norms[i]! + norms[p]! - 2 * dot(data, i * d, data, p * d, d);
    out[i] = i === p || v <= TIE_SLACK * (norms[i]! + norms[p]!) ? 0 : v;
  }
}

/**
 * Greedy kmeans++ (Arthur & Vassilvitskii; the scikit-learn variant): each round draws 2 + ⌊ln k⌋
 * candidates by D² sampling and keeps the one that lowers the potential Σ D² most (first on ties).
 * Plain single-draw kmeans++ merged two clusters on the 128×16384 bench data.
 */
function kmeansPlusPlus(points: Mat, k: number, rng: Rng): number[] {
  const n = points.rows;
  const norms = rowNorms(points);
  const trials = 2 + Math.floor(Math.log(k));
  const chosen = [rng.int(n)];
  const closest = new Float64Array(n);
  distancesFrom(points, norms, chosen[0]!, closest);
  const candidateD = new Float64Array(n);
  const bestD = new Float64Array(n);
  while (chosen.length < k) {
    let potential = 0;
    for (const v of closest) potential += v;
    if (potential <= 0) {
      // Every point coincides with a chosen centre: take the first unchosen point.
      let next = 0;
      while (chosen.includes(next)) next++;
      chosen.push(next);
      continue;
    }
    let bestCandidate = -1;
    let bestPotential = Infinity;
    for (let trial = 0; trial < trials; trial++) {
      let target = rng.next() * potential;
      let candidate = -1;
      for (let i = 0; i < n; i++) {
        target -= closest[i]!;
        if (target < 0 && closest[i]! > 0) {
          candidate = i;
          break;
        }
      }
      if (candidate < 0) {
        // Round-off at the end of the cumulative sum: the last point with positive weight.
        for (let i = n - 1; i >= 0 && candidate < 0; i--) if (closest[i]! > 0) candidate = i;
      }
      distancesFrom(points, norms, candidate, candidateD);
      let pot = 0;
      for (let i = 0; i < n; i++) pot += Math.min(closest[i]!, candidateD[i]!);
      if (pot < bestPotential) {
        bestPotential = pot;
        bestCandidate = candidate;
        bestD.set(candidateD);
      }
    }
    chosen.push(bestCandidate);
    for (let i = 0; i < n; i++) if (bestD[i]! < closest[i]!) closest[i] = bestD[i]!;
  }
  return chosen;
}

/** The k×d starting centroids a run with this init and seed uses (exported for benchmarks and tests). */
export function kmeansInitialCentroids(points: Mat, k: number, init: KmeansInit, seed: number): Mat {
  validate(points, { k, init });
  return initialCentroids(points, k, init, createRng(seed >>> 0));
}

function initialCentroids(points: Mat, k: number, init: KmeansInit, rng: Rng): Mat {
  const { rows: n, cols: d, data } = points;
  let chosen: number[];
  if (init === 'firstK') {
    chosen = Array.from({ length: k }, (_, j) => j);
  } else if (init === 'randomSubset') {
    // Partial Fisher–Yates: k distinct indices.
    const idx = Int32Array.from({ length: n }, (_, i) => i);
    chosen = [];
    for (let j = 0; j < k; j++) {
      const r = j + rng.int(n - j);
      const t = idx[j]!;
      idx[j] = idx[r]!;
      idx[r] = t;
      chosen.push(idx[j]!);
    }
  } else {
    chosen = kmeansPlusPlus(points, k, rng);
  }
  const centroids = zeros(k, d);
  chosen.forEach((p, j) => centroids.data.set(data.subarray(p * d, (p + 1) * d), j * d));
  return centroids;
}

/**
 * Assigns every point to its nearest centroid, lowest index on ties. Distances are screened by
 * ‖x‖²+‖c‖²−2x·c; when several centroids are within round-off of the best, the exact ‖x−c‖² decides,
 * so exact ties always go to the lowest index. Returns the number of labels that changed and fills
 * `dist` with each point's squared distance to its centroid.
 */
function assign(points: Mat, norms: Float64Array, centroids: Mat, labels: Int32Array, dist: Float64Array): number {
  const { rows: n, cols: d, data } = points;
  const k = centroids.rows;
  const cNorms = rowNorms(centroids);
  let maxNorm = 0;
  for (const v of cNorms) if (v > maxNorm) maxNorm = v;
  const dk = new Float64Array(k);
  let changed = 0;
  for (let i = 0; i < n; i++) {
    const xOff = i * d;
    let bestD = Infinity;
    for (let j = 0; j < k; j++) {
      const v = norms[i]! + cNorms[j]! - 2 * dot(data, xOff, centroids.data, j * d, d);
      dk[j] = v;
      if (v < bestD) bestD = v;
    }
    const cut = bestD + TIE_SLACK * (norms[i]! + maxNorm);
    let best = -1;
    let bestExact = Infinity;
    let candidates = 0;
    for (let j = 0; j < k; j++) {
      if (dk[j]! > cut) continue;
      candidates++;
      if (best < 0) best = j;
    }
    if (candidates === 1) {
      bestExact = Math.max(0, dk[best]!);
    } else {
      best = -1;
      for (let j = 0; j < k; j++) {
        if (dk[j]! > cut) continue;
        const exact = sqDist(data, xOff, centroids.data, j * d, d);
        if (exact < bestExact) {
          bestExact = exact;
          best = j;
        }
      }
    }
    if (labels[i] !== best) changed++;
    labels[i] = best;
    dist[i] = bestExact;
  }
  return changed;
}

function exactInertia(points: Mat, centroids: Mat, labels: Int32Array): number {
  const d = points.cols;
  let s = 0;
  for (let i = 0; i < points.rows; i++) s += sqDist(points.data, i * d, centroids.data, labels[i]! * d, d);
  return s;
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
  const norms = rowNorms(points);
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
      let changed = assign(points, norms, centroids, labels, dist);
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
    if (!converged) assign(points, norms, centroids, labels, dist);
    const sizes = countSizes(labels, k);
    const inertia = exactInertia(points, centroids, labels);
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

// Randomized truncated SVD (Halko, Martinsson, Tropp 2011, Algorithm 4.4 + 5.1) of a
// LinearOperator, so that W0 + s·B·A is only ever touched through products (algorithms.md §6.2–6.3).
// Every half step of the power iteration is re-orthonormalised by Householder QR in f64; without it
// the small directions drown in round-off.
import { WorkbenchError, throwIfAborted } from '../errors.ts';
import { createRng, DEFAULT_SEED } from '../util/rng.ts';
import { zeros } from '../tensor/matrix.ts';
import type { Mat } from '../tensor/matrix.ts';
import type { LinearOperator } from './operator.ts';
import { qrThin } from './qr.ts';
import { normaliseSigns, svdSmall } from './svd-small.ts';
import type { Svd } from './svd-small.ts';

export interface RandomizedSvdOptions {
  /** Number of triplets wanted (clamped to min(m, n)). */
  readonly rank: number;
  /** Extra sample columns beyond rank (default 10). */
  readonly oversample?: number;
  /** Power (subspace) iterations, each re-orthonormalised (default 2). */
  readonly powerIterations?: number;
  /** Seed of the Gaussian test matrix (default DEFAULT_SEED = 42). */
  readonly seed?: number;
  readonly signal?: AbortSignal;
}

interface Sketch {
  readonly rank: number;
  readonly width: number;
  /** m×ℓ orthonormal basis of the range sample. */
  Q: Mat;
}

function checkRank(op: LinearOperator, rank: number, what: string): number {
  if (!Number.isInteger(rank) || rank < 1) {
    throw new WorkbenchError('INVALID_ARGUMENT', `${what}: rank must be a positive integer, got ${rank}`, { details: { rank } });
  }
  return Math.min(rank, op.rows, op.cols);
}

function gaussian(rows: number, cols: number, seed: number): Mat {
  const rng = createRng(seed);
  const out = zeros(rows, cols);
  for (let i = 0; i < out.data.length; i++) out.data[i] = rng.normal();
  return out;
}

async function startSketch(op: LinearOperator, rank: number, oversample: number, seed: number): Promise<Sketch> {
  const width = Math.min(rank + oversample, op.rows, op.cols);
  const omega = gaussian(op.cols, width, seed);
  return { rank, width, Q: qrThin(await op.apply(omega)).Q };
}

/** One re-orthonormalised power step: Q ← orth(M · orth(Mᵀ Q)). */
async function powerStep(op: LinearOperator, sketch: Sketch, mtq?: Mat): Promise<void> {
  const z = qrThin(mtq ?? (await op.applyTranspose(sketch.Q))).Q;
  sketch.Q = qrThin(await op.apply(z)).Q;
}

/**
 * SVD of the projection QᵀM from its transpose Mᵀ Q (n×ℓ): Mᵀ Q = Ṽ Σ W̃ᵀ ⇒ QᵀM = W̃ Σ Ṽᵀ, so
 * U = Q·W̃ and Vt = Ṽᵀ. Returns the first `rank` triplets, sign-normalised.
 */
function projectSvd(Q: Mat, mtq: Mat, rank: number): Svd {
  const small = svdSmall(mtq); // n×ℓ: U_s n×ℓ', S ℓ', Vt_s ℓ'×ℓ
  const k = Math.min(rank, small.S.length);
  const ell = Q.cols;
  const m = Q.rows;
  const n = mtq.rows;
  // U = Q · (Vt_s)ᵀ[:, :k]
  const U = zeros(m, k);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let c = 0; c < ell; c++) s += Q.data[i * ell + c]! * small.Vt.data[j * ell + c]!;
      U.data[i * k + j] = s;
    }
  }
  const Vt = zeros(k, n);
  for (let j = 0; j < k; j++) {
    for (let c = 0; c < n; c++) Vt.data[j * n + c] = small.U.data[c * small.U.cols + j]!;
  }
  const out: Svd = { U, S: small.S.slice(0, k), Vt };
  normaliseSigns(out);
  return out;
}

/**
 * Top-`rank` SVD of `op` by a seeded Gaussian sketch of width ℓ = min(rank + oversample, m, n),
 * `powerIterations` re-orthonormalised subspace iterations, and a dense SVD of the ℓ×n projection.
 * 2·powerIterations + 2 products with op; never forms op densely.
 */
export async function randomizedSvd(op: LinearOperator, options: RandomizedSvdOptions): Promise<Svd> {
  const rank = checkRank(op, options.rank, 'randomized SVD');
  const { oversample = 10, powerIterations = 2, seed = DEFAULT_SEED, signal } = options;
  const sketch = await startSketch(op, rank, oversample, seed);
  for (let it = 0; it < powerIterations; it++) {
    throwIfAborted(signal, 'randomized SVD');
    await powerStep(op, sketch);
  }
  throwIfAborted(signal, 'randomized SVD');
  return projectSvd(sketch.Q, await op.applyTranspose(sketch.Q), rank);
}

export interface TopTripletsOptions {
  /** Default 10. */
  readonly oversample?: number;
  /** Power iterations always run before the first convergence check (default 3, algorithms.md §6.3). */
  readonly powerIterations?: number;
  /** Cap on power iterations when the values keep moving (default 20). */
  readonly maxPowerIterations?: number;
  /**
   * Unit roundoff of the operator's products (Backend.epsilon): 2⁻²⁴ for the f32 tfjs backends,
   * 2⁻⁵³ for f64 TypeScript operators. Default 2⁻²⁴, the safe assumption for an unknown operator.
   */
  readonly epsilon?: number;
  /**
   * Stop when max_j |σ_j − σ_j(previous)| ≤ tolerance·σ_1 over the top k. Default
   * max(1e-10, 16·√max(m, n)·epsilon): just above the jitter that rounded products put into the
   * values (6.1e-5 for f32 at 4096, 1e-10 for f64), so the check can terminate on every backend.
   * Values converge about twice as fast as vectors: check `residuals` for the vectors.
   */
  readonly tolerance?: number;
  readonly seed?: number;
  readonly signal?: AbortSignal;
}

/** The default stopping tolerance of topSingularTriplets (see TopTripletsOptions.tolerance). */
export function defaultTripletTolerance(op: LinearOperator, epsilon: number): number {
  return Math.max(1e-10, 16 * Math.sqrt(Math.max(op.rows, op.cols)) * epsilon);
}

export interface TopTriplets extends Svd {
  /** Power iterations run. */
  readonly iterations: number;
  /** Whether the values stabilised to the tolerance before the cap. */
  readonly converged: boolean;
  /** ‖M v_j − σ_j u_j‖₂ / σ_1 per triplet: the a-posteriori certificate of §6.2. */
  readonly residuals: Float64Array;
}

/**
 * Top-k singular triplets of an operator such as W0 + s·B·A: randomized SVD whose subspace iteration
 * continues until the top-k singular values stop moving, then certified by one extra product.
 */
export async function topSingularTriplets(op: LinearOperator, k: number, options: TopTripletsOptions = {}): Promise<TopTriplets> {
  const rank = checkRank(op, k, 'top singular triplets');
  const { oversample = 10, powerIterations = 3, maxPowerIterations = 20, epsilon = 2 ** -24, seed = DEFAULT_SEED, signal } = options;
  const tolerance = options.tolerance ?? defaultTripletTolerance(op, epsilon);
  const sketch = await startSketch(op, rank, oversample, seed);
  for (let it = 0; it < powerIterations - 1; it++) {
    throwIfAborted(signal, 'top singular triplets');
    await powerStep(op, sketch);
  }
  let iterations = Math.max(0, powerIterations - 1);
  let previous: Float64Array | undefined;
  let converged = false;
  let svd: Svd;
  for (;;) {
    throwIfAborted(signal, 'top singular triplets');
    const mtq = await op.applyTranspose(sketch.Q);
    svd = projectSvd(sketch.Q, mtq, rank);
    if (previous !== undefined) {
      const s1 = svd.S[0] ?? 0;
      let change = 0;
      for (let j = 0; j < svd.S.length; j++) change = Math.max(change, Math.abs(svd.S[j]! - (previous[j] ?? 0)));
      if (change <= tolerance * s1) {
        converged = true;
        break;
      }
    }
    if (iterations >= maxPowerIterations) break;
    previous = svd.S;
    await powerStep(op, sketch, mtq);
    iterations++;
  }
  // Certificate: ‖M v_j − σ_j u_j‖ / σ_1 (the V rows are orthonormal, so this is one product of width k).
  const V = zeros(op.cols, svd.S.length);
  for (let j = 0; j < svd.S.length; j++) {
    for (let c = 0; c < op.cols; c++) V.data[c * svd.S.length + j] = svd.Vt.data[j * op.cols + c]!;
  }
  const mv = await op.apply(V);
  const residuals = new Float64Array(svd.S.length);
  const s1 = svd.S[0] ?? 0;
  for (let j = 0; j < svd.S.length; j++) {
    let ss = 0;
    for (let i = 0; i < op.rows; i++) {
      const d = mv.data[i * svd.S.length + j]! - svd.S[j]! * svd.U.data[i * svd.S.length + j]!;
      ss += d * d;
    }
    residuals[j] = s1 > 0 ? Math.sqrt(ss) / s1 : Math.sqrt(ss);
  }
  return { ...svd, iterations, converged, residuals };
}

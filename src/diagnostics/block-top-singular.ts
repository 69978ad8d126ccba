// Top-k singular triplets of an operator W by block Krylov iteration on W·Wᵀ: each step
// multiplies a block of b vectors (two GEMMs on the compute backend, where one wasm GEMM of
// 16 columns costs about as much as two single-vector products), the basis is kept
// orthonormal in f64 (two Gram–Schmidt passes), and Rayleigh–Ritz runs on the projected
// matrix T = Qᵀ·(W·Wᵀ·Q), built from the stored products, so no product is spent on it.
// Angle bounds as in top-singular.ts (Davis–Kahan, residual over the Ritz gap), from the
// explicit residual ‖Z·y − θ·Q·y‖; `certify` recomputes them from f64 products.
// Measured on a 4096×4096 layer (wasm): the single-vector Lanczos of top-singular.ts spent
// 62 steps × 2 matrix–vector products (memory-bound, ~3 GFLOP/s) on the tuned top-10.
import type { LinearOperator } from '../linalg/operator.ts';
import { throwIfAborted } from '../errors.ts';
import { createRng } from '../util/rng.ts';
import { columnsOf, dot, fromColumns, symmetricEigen } from './dense-kernels.ts';
import { finishTriplets, type TopSingular, type TopSingularOptions } from './top-singular.ts';
import { crossDots, subtractCombination } from '../linalg/vector-list-kernels.ts';

export interface BlockTopSingularOptions extends TopSingularOptions {
  /** Block size (default max(k + 6, 16), at most the dimension). */
  readonly block?: number;
  /** Largest basis (default min(rows, max(12·block, 160))). */
  readonly maxBasis?: number;
  /**
   * Stop once every bound is below this, or the f32 noise floor of the residuals is reached
   * (then `certify` gives the honest bound). Default `angleTolerance`.
   */
  readonly minimumSteps?: number;
  /**
   * Accept a converged leading prefix (partial bases): stop once at least half of the k vectors
   * lead with bounds below the tolerance and that prefix has not grown for two steps.
   */
  readonly acceptPrefix?: boolean;
  /** Start vectors (e.g. the tuned top vectors when computing the base's): the block is filled up with random ones. */
  readonly start?: readonly Float64Array[];
}

/** Orthogonalises `w` against `basis` twice (in place) and returns its remaining norm. */
function orthogonalise(w: Float64Array, basis: readonly Float64Array[]): number {
  const m = w.length;
  for (let pass = 0; pass < 2; pass++) {
    for (const q of basis) {
      const c = dot(w, q);
      if (c !== 0) for (let i = 0; i < m; i++) w[i] = w[i]! - c * q[i]!;
    }
  }
  return Math.sqrt(dot(w, w));
}

export async function blockTopSingular(op: LinearOperator, k: number, options: BlockTopSingularOptions): Promise<TopSingular> {
  const m = op.rows;
  const p = Math.min(op.rows, op.cols);
  const kk = Math.min(k, p);
  const roundoff = options.epsilon ?? 2 ** -53;
  // f32 products leave residuals at ~1e-5 of ‖W‖²: iterate to a 1e-4 angle there (the f64
  // certificate then states the bound that holds); f64 products go to `angleTolerance`.
  const tol = Math.max(options.angleTolerance ?? 1e-9, roundoff > 1e-15 ? 1e-4 : 0);
  const b = Math.max(1, Math.min(options.block ?? Math.max(kk + 6, 16), m));
  const maxBasis = Math.min(m, options.maxBasis ?? Math.max(12 * b, 160));
  const rng = createRng(options.seed);
  const Q: Float64Array[] = [];
  const Z: Float64Array[] = [];
  // T[i][j] = Q_iᵀ·Z_j, symmetric; grown by one block column per step. ZZ = ZᵀZ likewise, so
  // that each Ritz residual ‖Z·y − θ·Q·y‖² = yᵀ·ZᵀZ·y − θ² costs O(d²), not O(m·d).
  const T: number[][] = [];
  const ZZ: number[][] = [];
  // QZ[i][j] = Q_iᵀ·Z_j exactly as computed (not symmetrised), for the residual formula.
  const QZ: number[][] = [];
  let products = 0;
  let steps = 0;
  const fresh = (): Float64Array | undefined => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const w = Float64Array.from({ length: m }, () => rng.normal());
      const nrm = orthogonalise(w, Q);
      if (nrm > 1e-8) {
        for (let i = 0; i < m; i++) w[i] = w[i]! / nrm;
        return w;
      }
    }
    return undefined;
  };
  let block: Float64Array[] = [];
  for (const v of options.start ?? []) {
    if (block.length >= b || Q.length >= m || v.length !== m) break;
    const w = Float64Array.from(v);
    const nrm = orthogonalise(w, Q);
    if (!(nrm > 1e-8)) continue;
    for (let i = 0; i < m; i++) w[i] = w[i]! / nrm;
    Q.push(w);
    block.push(w);
  }
  for (let j = block.length; j < b && Q.length < m; j++) {
    const w = fresh();
    if (!w) break;
    Q.push(w);
    block.push(w);
  }
  let result: { y: Float64Array[]; theta: Float64Array; bound: Float64Array; gap: Float64Array } | undefined;
  const previousNoise: number[] = [];
  const prefixes: number[] = [];
  for (;;) {
    throwIfAborted(options.signal, 'singular value iteration');
    steps++;
    const zb = columnsOf(await op.apply(await op.applyTranspose(fromColumns(block, m))));
    products += 2 * block.length;
    const first = Z.length;
    Z.push(...zb);
    const d = Z.length;
    for (const M of [T, ZZ, QZ]) {
      for (const row of M) while (row.length < d) row.push(0);
      while (M.length < d) M.push(new Array<number>(d).fill(0));
    }
    // The new rows and columns of ZᵀZ and QᵀZ, as blocked products of vector lists.
    const nb = d - first;
    const zzNew = crossDots(Z, zb, m); // d × nb
    const qzOldNew = crossDots(Q.slice(first, d), Z.slice(0, first), m); // nb × first
    const qzAllNew = crossDots(Q, zb, m); // d × nb
    for (let j = first; j < d; j++) {
      for (let i = 0; i <= j; i++) {
        const zz = zzNew[i * nb + j - first]!;
        ZZ[i]![j] = zz;
        ZZ[j]![i] = zz;
      }
      for (let i = 0; i < first; i++) QZ[j]![i] = qzOldNew[(j - first) * first + i]!;
      for (let i = 0; i < d; i++) {
        const v = qzAllNew[i * nb + j - first]!;
        QZ[i]![j] = v;
        if (i >= first && i < j) {
          // Both entries of the new diagonal block are computed: keep the mean (symmetric).
          const mean = (T[i]![j]! + v) / 2;
          T[i]![j] = mean;
          T[j]![i] = mean;
        } else {
          T[i]![j] = v;
          T[j]![i] = v;
        }
      }
    }
    // Rayleigh–Ritz on span(Q).
    const flat = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) flat[i * d + j] = T[i]![j]!;
    const eig = symmetricEigen(d, flat);
    const c = Math.min(kk, d);
    const theta = eig.values.subarray(0, c);
    const lambda1 = Math.max(Math.abs(eig.values[0] ?? 0), 1e-300);
    const floor = 64 * 2 ** -52 * lambda1;
    const bound = new Float64Array(c);
    const gaps = new Float64Array(c);
    let worst = 0;
    let noiseLimited = true;
    for (let j = 0; j < c; j++) {
      const y = eig.vectors[j]!;
      let yzzy = 0;
      let yqzy = 0;
      for (let i = 0; i < d; i++) {
        const zrow = ZZ[i]!;
        const qrow = QZ[i]!;
        let az = 0;
        let aq = 0;
        for (let l = 0; l < d; l++) {
          az += zrow[l]! * y[l]!;
          aq += qrow[l]! * y[l]!;
        }
        yzzy += y[i]! * az;
        yqzy += y[i]! * aq;
      }
      // ‖Z·y − θ·Q·y‖² = yᵀZᵀZy − 2θ·yᵀQᵀZy + θ² (Q orthonormal); the cancellation leaves
      // ~1e-13·θ² of noise, below the f32 residuals this iterates to.
      const t = theta[j]!;
      const residual = Math.sqrt(Math.max(0, yzzy - 2 * t * yqzy + t * t) + 1e-13 * t * t);
      let gap = Infinity;
      for (let i = 0; i < d; i++) if (i !== j) gap = Math.min(gap, Math.abs(eig.values[j]! - eig.values[i]!));
      if (d === 1) gap = Math.abs(eig.values[0]!);
      gaps[j] = gap > floor ? gap : 0;
      bound[j] = gap > floor ? Math.min(1, (residual + floor) / gap) : 1;
      worst = Math.max(worst, bound[j]!);
      // Residuals at the backend's noise (f32 products) cannot shrink further.
      if (residual > 256 * roundoff * lambda1) noiseLimited = false;
    }
    result = { y: eig.vectors.slice(0, c), theta: Float64Array.from(theta), bound, gap: gaps };
    previousNoise.push(worst);
    const stalled = previousNoise.length >= 3 && worst > 0.5 * previousNoise[previousNoise.length - 3]! && noiseLimited;
    let prefix = 0;
    while (prefix < c && bound[prefix]! <= Math.max(tol, 1e-6)) prefix++;
    prefixes.push(prefix);
    const prefixSettled =
      options.acceptPrefix === true && prefix >= Math.ceil(c / 2) && prefixes.length >= 3 && prefixes[prefixes.length - 3]! >= prefix;
    if (worst <= tol || stalled || prefixSettled || d + b > maxBasis || d >= m) break;
    // Next block: the new products, orthogonalised against the basis (two block classical
    // Gram–Schmidt passes), then against each other in order.
    block = [];
    const candidates = zb.map((z) => Float64Array.from(z));
    for (let pass = 0; pass < 2; pass++) subtractCombination(candidates, Q, crossDots(Q, candidates, m), m);
    for (let c = 0; c < candidates.length; c++) {
      if (Q.length >= m) break;
      const z = zb[c]!;
      const w = candidates[c]!;
      const nrm = orthogonalise(w, block);
      const scaleRef = Math.sqrt(dot(z, z));
      if (nrm > 1e-10 * Math.max(scaleRef, 1e-300)) {
        for (let i = 0; i < m; i++) w[i] = w[i]! / nrm;
        Q.push(w);
        block.push(w);
      } else {
        const w2 = fresh();
        if (w2) {
          Q.push(w2);
          block.push(w2);
        }
      }
    }
    if (block.length === 0) break;
  }
  const { y, theta, gap, bound } = result!;
  const u: Float64Array[] = y.map((coeff) => {
    const out = new Float64Array(m);
    for (let i = 0; i < coeff.length; i++) {
      const ci = coeff[i]!;
      if (ci === 0) continue;
      const qi = Q[i]!;
      for (let l = 0; l < m; l++) out[l] = out[l]! + ci * qi[l]!;
    }
    return out;
  });
  return finishTriplets(op, u, theta, gap, bound, steps, products, options.certify);
}

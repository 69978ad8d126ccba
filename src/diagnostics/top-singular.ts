// Top-k singular triplets of an operator W by Lanczos on W·Wᵀ (one product with W and one
// with Wᵀ per step, full reorthogonalisation), Rayleigh–Ritz on the tridiagonal, and an
// a-posteriori angle bound per vector (Davis–Kahan: sin∠ ≤ ‖W Wᵀu − σ²u‖ / gap, with the
// residual read off the recurrence as β_s·|e_sᵀy|). Seeded random start (§6.2, §6.3).
// Lanczos instead of block subspace iteration: on LLM-like spectra (a slowly decaying
// bulk) subspace iteration needed hundreds of block passes, Lanczos tens of single ones.
import type { LinearOperator } from '../linalg/operator.ts';
import { throwIfAborted } from '../errors.ts';
import { createRng } from '../util/rng.ts';
import { columnsOf, dot, fromColumns, norm, symmetricEigen, tridiagonal } from './dense-kernels.ts';

export interface TopSingularOptions {
  readonly seed: number;
  /** Stop when every returned left vector is within this angle (radians, bound) of the true one. */
  readonly angleTolerance?: number;
  /** Most Lanczos steps (default min(rows, max(8k + 80, 200)), then capped at the dimension). */
  readonly maxSteps?: number;
  readonly signal?: AbortSignal;
  /**
   * Unit roundoff of `op`'s products (Backend.epsilon; default 2⁻⁵³, f64). Above f64 the
   * recurrence cannot reach `angleTolerance`: iteration stops at max(angleTolerance, √ε·…)
   * and the angle bounds come from `certify` instead.
   */
  readonly epsilon?: number;
  /**
   * The same matrix in f64 (e.g. matOperator(W0) beside a wasm/GPU f32 operator). When given,
   * each returned bound is recomputed from the explicit residual ‖W·Wᵀu − σ²u‖ of this
   * operator (one block product each way), so the bound holds for the exact matrix whatever
   * precision the iteration ran in.
   */
  readonly certify?: LinearOperator;
}

export interface TopSingular {
  /** Left singular vectors (length rows). Sign: largest-|·| entry positive. */
  readonly u: Float64Array[];
  readonly s: Float64Array;
  /** Right singular vectors (length cols). */
  readonly v: Float64Array[];
  /** Upper bound on sin of the angle between each u and the exact singular vector. */
  readonly angleBound: Float64Array;
  /** Lanczos steps taken. */
  readonly iterations: number;
  /** Operator applications (forward + transpose), counting each vector. */
  readonly products: number;
}

export async function topSingular(op: LinearOperator, k: number, options: TopSingularOptions): Promise<TopSingular> {
  const m = op.rows;
  const p = Math.min(op.rows, op.cols);
  const kk = Math.min(k, p);
  const roundoff = options.epsilon ?? 2 ** -53;
  // f32 products put noise of ~ε·‖W‖² into every step; ask only for what that noise allows.
  const tol = Math.max(options.angleTolerance ?? 1e-9, roundoff > 1e-15 ? 64 * roundoff : 0);
  const maxSteps = Math.min(m, options.maxSteps ?? Math.max(8 * kk + 80, 200));
  const rng = createRng(options.seed);
  const random = (): Float64Array => Float64Array.from({ length: m }, () => rng.normal());
  const Q: Float64Array[] = [];
  const alpha: number[] = [];
  const beta: number[] = [];
  let q = random();
  normalise(q);
  let products = 0;
  let result: { y: Float64Array[]; theta: Float64Array; bound: Float64Array; gap: Float64Array } | undefined;
  let nextCheck = Math.min(maxSteps, Math.max(2 * kk + 10, 20));
  const g = async (x: Float64Array): Promise<Float64Array> => {
    const mat = fromColumns([x], m);
    const out = await op.apply(await op.applyTranspose(mat));
    products += 2;
    return out.data; // m×1 row-major = the vector
  };
  for (let step = 1; step <= maxSteps; step++) {
    throwIfAborted(options.signal, 'singular value iteration');
    Q.push(q);
    const w = Float64Array.from(await g(q));
    const a = dot(w, q);
    alpha.push(a);
    for (let pass = 0; pass < 2; pass++) {
      for (const b of Q) {
        const c = dot(w, b);
        for (let i = 0; i < m; i++) w[i] = w[i]! - c * b[i]!;
      }
    }
    let bnext = norm(w);
    const scaleRef = Math.abs(a) + (beta.at(-1) ?? 0);
    const invariant = bnext <= 1e-12 * Math.max(scaleRef, 1e-300);
    if (step === nextCheck || step === maxSteps || invariant || Q.length === m) {
      result = ritz(alpha, beta, invariant || Q.length === m ? 0 : bnext, kk);
      const worst = Math.max(0, ...result.bound);
      if (worst <= tol || step === maxSteps || Q.length === m) break;
      nextCheck = Math.min(maxSteps, step + Math.max(10, Math.floor(step / 4)));
    }
    if (invariant) {
      // An invariant subspace was found: continue from a fresh direction orthogonal to it.
      const fresh = random();
      for (let pass = 0; pass < 2; pass++) {
        for (const b of Q) {
          const c = dot(fresh, b);
          for (let i = 0; i < m; i++) fresh[i] = fresh[i]! - c * b[i]!;
        }
      }
      normalise(fresh);
      q = fresh;
      bnext = 0;
    } else {
      for (let i = 0; i < m; i++) w[i] = w[i]! / bnext;
      q = w;
    }
    beta.push(bnext);
  }
  const { y, theta, gap } = result!;
  const u: Float64Array[] = [];
  for (let j = 0; j < y.length; j++) u.push(combine(Q, y[j]!, m));
  return finishTriplets(op, u, theta, gap, result!.bound, alpha.length, products, options.certify);
}

/**
 * From unit left Ritz vectors u_j with Ritz values θ_j = σ_j² (and Ritz gaps): v_j = Wᵀu_j/σ_j,
 * signs normalised, and with `certify` (the same matrix in f64) each angle bound recomputed from
 * the explicit residual ‖W·Wᵀu − θu‖ over the gap (one block product each way).
 */
export async function finishTriplets(
  op: LinearOperator,
  u: Float64Array[],
  theta: Float64Array,
  gap: Float64Array,
  iterationBound: Float64Array,
  iterations: number,
  productsSoFar: number,
  certify: LinearOperator | undefined,
): Promise<TopSingular> {
  const m = op.rows;
  let products = productsSoFar;
  let bound = iterationBound;
  const s = new Float64Array(u.length);
  for (let j = 0; j < u.length; j++) s[j] = Math.sqrt(Math.max(theta[j]!, 0));
  const vtMat = await (certify ?? op).applyTranspose(fromColumns(u, m));
  products += u.length;
  if (certify) {
    // Explicit f64 residual of W·Wᵀ at each Ritz pair, over the Ritz gap (Davis–Kahan).
    const ww = await certify.apply(vtMat);
    products += u.length;
    const k = u.length;
    bound = new Float64Array(k);
    for (let j = 0; j < k; j++) {
      let ss = 0;
      const uj = u[j]!;
      for (let i = 0; i < m; i++) {
        const d = ww.data[i * k + j]! - theta[j]! * uj[i]!;
        ss += d * d;
      }
      const g = gap[j]!;
      bound[j] = g > 0 ? Math.min(1, (Math.sqrt(ss) + 64 * 2 ** -52 * Math.abs(theta[0] ?? 0)) / g) : 1;
    }
  }
  const vt = columnsOf(vtMat);
  const v = vt.map((col, j) => {
    const sigma = s[j]!;
    if (sigma > 0) for (let t = 0; t < col.length; t++) col[t] = col[t]! / sigma;
    normaliseSign(u[j]!, col);
    return col;
  });
  return { u, s, v, angleBound: bound, iterations, products };
}

function normalise(v: Float64Array): void {
  const n = norm(v);
  for (let i = 0; i < v.length; i++) v[i] = v[i]! / n;
}

/** Ritz pairs of the Lanczos tridiagonal: top `count` eigenvectors (in the Lanczos basis), values, angle bounds. */
function ritz(alpha: readonly number[], beta: readonly number[], lastBeta: number, count: number): { y: Float64Array[]; theta: Float64Array; bound: Float64Array; gap: Float64Array } {
  const s = alpha.length;
  const T = tridiagonal(alpha, beta);
  const eig = symmetricEigen(s, T);
  const c = Math.min(count, s);
  const theta = eig.values.subarray(0, c);
  const lambda1 = Math.max(Math.abs(eig.values[0] ?? 0), 1e-300);
  const floor = 64 * 2 ** -52 * lambda1;
  const bound = new Float64Array(c);
  const gaps = new Float64Array(c);
  for (let j = 0; j < c; j++) {
    const residual = Math.abs(lastBeta * eig.vectors[j]![s - 1]!);
    let gap = Infinity;
    for (let i = 0; i < s; i++) if (i !== j) gap = Math.min(gap, Math.abs(eig.values[j]! - eig.values[i]!));
    if (s === 1) gap = Math.abs(eig.values[0]!);
    gaps[j] = gap > floor ? gap : 0;
    bound[j] = gap > floor ? Math.min(1, (residual + floor) / gap) : 1;
  }
  return { y: eig.vectors.slice(0, c), theta: Float64Array.from(theta), bound, gap: gaps };
}

/** Flip (u, v) so that the largest-|·| entry of u is positive (§6.2 step 4). */
export function normaliseSign(u: Float64Array, v: Float64Array): void {
  let best = 0;
  for (let i = 1; i < u.length; i++) if (Math.abs(u[i]!) > Math.abs(u[best]!)) best = i;
  if (u[best]! < 0) {
    for (let i = 0; i < u.length; i++) u[i] = -u[i]!;
    for (let i = 0; i < v.length; i++) v[i] = -v[i]!;
  }
}

/** Σ_i coeff[i]·basis[i] (a Ritz vector from the Lanczos basis). */
function combine(basis: readonly Float64Array[], coeff: Float64Array, length: number): Float64Array {
  const out = new Float64Array(length);
  for (let i = 0; i < basis.length; i++) {
    const c = coeff[i]!;
    if (c === 0) continue;
    const b = basis[i]!;
    for (let k = 0; k < length; k++) out[k] = out[k]! + c * b[k]!;
  }
  return out;
}

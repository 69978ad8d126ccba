// Top-k singular triplets of an operator by block subspace iteration on W·Wᵀ with
// Rayleigh–Ritz and an a-posteriori angle bound per vector (Davis–Kahan:
// sin∠ ≤ ‖W Wᵀu − σ²u‖ / gap). Randomised start from a seeded PRNG (§6.2, §6.3).
import type { LinearOperator } from '../linalg/operator.ts';
import { throwIfAborted } from '../errors.ts';
import { createRng } from '../util/rng.ts';
import { columnsOf, fromColumns, norm, orthonormalize, symmetricEigen } from './dense-kernels.ts';
import { combine } from './factored-svd.ts';

export interface TopSingularOptions {
  readonly seed: number;
  /** Extra block columns beyond k (default max(10, k)). */
  readonly oversample?: number;
  /** Stop when every returned left vector is within this angle (radians, bound) of the true one. */
  readonly angleTolerance?: number;
  readonly maxIterations?: number;
  readonly signal?: AbortSignal;
}

export interface TopSingular {
  /** Left singular vectors (length rows). Sign: largest-|·| entry positive. */
  readonly u: Float64Array[];
  readonly s: Float64Array;
  /** Right singular vectors (length cols). */
  readonly v: Float64Array[];
  /** Upper bound on sin of the angle between each u and the exact singular vector. */
  readonly angleBound: Float64Array;
  readonly iterations: number;
  /** Operator applications (forward + transpose). */
  readonly products: number;
}

export async function topSingular(op: LinearOperator, k: number, options: TopSingularOptions): Promise<TopSingular> {
  const p = Math.min(op.rows, op.cols);
  const kk = Math.min(k, p);
  const width = Math.min(p, kk + (options.oversample ?? Math.max(10, kk)));
  const tol = options.angleTolerance ?? 1e-10;
  const maxIter = options.maxIterations ?? 300;
  const rng = createRng(options.seed);
  const omega = Array.from({ length: width }, () => {
    const v = new Float64Array(op.cols);
    for (let i = 0; i < v.length; i++) v[i] = rng.normal();
    return v;
  });
  let products = 1;
  let q = orthonormalize(columnsOf(await op.apply(fromColumns(omega, op.cols))), rng);
  let result: TopSingular | undefined;
  for (let iter = 1; iter <= maxIter; iter++) {
    throwIfAborted(options.signal, 'singular value iteration');
    const z = await op.applyTranspose(fromColumns(q, op.rows)); // n×ℓ = Wᵀ Q
    const y = await op.apply(z); // m×ℓ = W Wᵀ Q
    products += 2;
    const l = q.length;
    const zCols = columnsOf(z);
    const yCols = columnsOf(y);
    const g = new Float64Array(l * l);
    for (let i = 0; i < l; i++) {
      for (let j = 0; j <= i; j++) {
        let sum = 0;
        const a = zCols[i]!;
        const b = zCols[j]!;
        for (let t = 0; t < a.length; t++) sum += a[t]! * b[t]!;
        g[i * l + j] = sum;
        g[j * l + i] = sum;
      }
    }
    const eig = symmetricEigen(l, g);
    const lambda = eig.values;
    const lambda1 = Math.max(lambda[0] ?? 0, 0);
    const count = Math.min(kk, l);
    const u: Float64Array[] = [];
    const v: Float64Array[] = [];
    const s = new Float64Array(count);
    const bound = new Float64Array(count);
    let worst = 0;
    for (let j = 0; j < count; j++) {
      const w = eig.vectors[j]!;
      const uj = combine(q, w, op.rows);
      const wwu = combine(yCols, w, op.rows);
      const lj = Math.max(lambda[j]!, 0);
      for (let t = 0; t < wwu.length; t++) wwu[t] = wwu[t]! - lj * uj[t]!;
      const residual = norm(wwu);
      // Gap to the other Ritz values; the last block value stands in for the unseen tail.
      let gap = Infinity;
      for (let i = 0; i < l; i++) {
        if (i !== j) gap = Math.min(gap, Math.abs(lj - Math.max(lambda[i]!, 0)));
      }
      if (l === j + 1) gap = lj;
      const floor = 64 * 2 ** -52 * lambda1;
      const b = gap > floor ? Math.min(1, (residual + floor) / gap) : 1;
      bound[j] = b;
      worst = Math.max(worst, b);
      const sigma = Math.sqrt(lj);
      s[j] = sigma;
      const vj = combine(zCols, w, op.cols);
      if (sigma > 0) for (let t = 0; t < vj.length; t++) vj[t] = vj[t]! / sigma;
      normaliseSign(uj, vj);
      u.push(uj);
      v.push(vj);
    }
    result = { u, s, v, angleBound: bound, iterations: iter, products };
    if (worst <= tol || l === p) {
      // l === p: the block spans the whole space, Rayleigh–Ritz is exact up to rounding.
      if (l === p) result = { ...result, angleBound: bound.map((b) => Math.min(b, 1e-10)) };
      break;
    }
    q = orthonormalize(yCols, rng);
  }
  return result!;
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

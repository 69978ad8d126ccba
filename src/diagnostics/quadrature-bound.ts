// A second certificate for intruder decisions that needs no base singular vectors:
// Gauss quadrature of the spectral measure of u with respect to G = W0·W0ᵀ.
// The measure puts mass c_i² = (u0_iᵀu)² at λ_i = σ_i², so every cosine² is at most the
// mass of one atom. Lanczos on G started at u yields the s-node Gauss rule (nodes t_k,
// weights w_k); the Chebyshev–Markov–Stieltjes inequalities
//   Σ_{i<k} w_i ≤ F(t_k − 0),   F(t_k + 0) ≤ Σ_{i≤k} w_i
// bound any single atom by max_k (w_k + w_{k+1}) (between two nodes) or w_k (at a node,
// or outside the node range). So max_i |cos(u, u0_i)| ≤ sqrt(max_k (w_k + w_{k+1})).
// When Lanczos terminates (β = 0) the rule is exact and the atoms are the weights.
// Cost: two products with W0 per step for the whole block of vectors.
// W0 is any f64 operator (matOperator): the Gauss rule's inequalities need exact products.
import type { LinearOperator } from '../linalg/operator.ts';
import { throwIfAborted } from '../errors.ts';
import { dot, fromColumns, columnsOf, symmetricEigen, tridiagonal } from './dense-kernels.ts';

export interface QuadratureBound {
  /** Upper bound on max_i |cos(u, u0_i)| over all base left singular vectors. */
  readonly upper: number;
  readonly steps: number;
}

/**
 * Runs block-parallel Lanczos (full reorthogonalisation) on G = W0·W0ᵀ from each unit vector.
 * `stop(j, upper)` is asked after each check; the vector's recurrence stops once it returns true.
 */
export async function quadratureBounds(
  W0: LinearOperator,
  vectors: readonly Float64Array[],
  options: { maxSteps: number; checkEvery?: number; stop: (j: number, upper: number) => boolean; signal?: AbortSignal },
): Promise<QuadratureBound[]> {
  const m = W0.rows;
  const t = vectors.length;
  const bases: Float64Array[][] = vectors.map((v) => [Float64Array.from(v)]);
  const alphas: number[][] = vectors.map(() => []);
  const betas: number[][] = vectors.map(() => []);
  const done: boolean[] = vectors.map(() => false);
  const results: QuadratureBound[] = vectors.map(() => ({ upper: 1, steps: 0 }));
  const checkEvery = options.checkEvery ?? 8;
  const maxSteps = Math.min(options.maxSteps, m);
  for (let step = 1; step <= maxSteps; step++) {
    throwIfAborted(options.signal, 'quadrature bound');
    const active = vectors.map((_, j) => j).filter((j) => !done[j]);
    if (active.length === 0) break;
    const current = active.map((j) => bases[j]![bases[j]!.length - 1]!);
    const g = columnsOf(await W0.apply(await W0.applyTranspose(fromColumns(current, m))));
    active.forEach((j, a) => {
      const w = g[a]!;
      const q = current[a]!;
      const alpha = dot(w, q);
      alphas[j]!.push(alpha);
      // Full reorthogonalisation, twice.
      for (let pass = 0; pass < 2; pass++) {
        for (const b of bases[j]!) {
          const c = dot(w, b);
          for (let i = 0; i < m; i++) w[i] = w[i]! - c * b[i]!;
        }
      }
      const beta = Math.sqrt(dot(w, w));
      const scaleRef = Math.abs(alpha) + (betas[j]!.at(-1) ?? 0);
      const terminated = beta <= 1e-13 * Math.max(scaleRef, 1e-300) || step === maxSteps || bases[j]!.length >= m;
      if (step % checkEvery === 0 || terminated) {
        const upper = gaussAtomBound(alphas[j]!, betas[j]!, terminated);
        results[j] = { upper, steps: step };
        if (terminated || options.stop(j, upper)) {
          done[j] = true;
          return;
        }
      }
      betas[j]!.push(beta);
      for (let i = 0; i < m; i++) w[i] = w[i]! / beta;
      bases[j]!.push(w);
    });
  }
  return results;
}

/** sqrt of the largest atom the Gauss rule of the tridiagonal (α, β) allows; `exact` when Lanczos terminated. */
export function gaussAtomBound(alphas: readonly number[], betas: readonly number[], exact: boolean): number {
  const s = alphas.length;
  const T = tridiagonal(alphas, betas);
  const eig = symmetricEigen(s, T);
  // Nodes descending from symmetricEigen; weights = first component squared.
  const weights = eig.vectors.map((y) => y[0]! * y[0]!);
  let worst = 0;
  for (let k = 0; k < s; k++) {
    worst = Math.max(worst, exact ? weights[k]! : weights[k]! + (weights[k + 1] ?? 0));
  }
  // Rounding in the recurrence: allow a small absolute slack on the weights.
  return Math.min(1, Math.sqrt(Math.min(1, worst + 1e-9)));
}

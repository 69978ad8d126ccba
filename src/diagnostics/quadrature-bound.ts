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
//
// A sharper bound from the same recurrence (christoffelAtomBound, used when an upper bound Λ
// on the spectrum of W0·W0ᵀ is known): for every λ and every polynomial P of degree ≤ s with
// P(λ) = 1, the atom at λ is ≤ ∫P² dμ = ‖u − (G − λ)·Z(G)·u‖² (P = 1 − (x − λ)·Z). In the
// Lanczos basis that is the least-squares residual f(λ) = min_y ‖e₁ − T̂(λ)·y‖, T̂(λ) = [T − λI;
// β_s·e_sᵀ] ((s+1)×s), i.e. the Christoffel function of degree s — it uses the moments up to
// degree 2s (one more than the Gauss rule) and bounds the atom AT λ, not the mass between
// two nodes. f is bounded between grid points rigorously: f(λ') ≤ f(λ) + |λ' − λ|·‖y*(λ)‖
// (the optimal y at λ is admissible at λ'), so a grid on [0, Λ] refined where needed gives a
// certified max. Measured on the Llama-shaped bench (4096×4096): intruders decided in ~half
// the steps the two-node Gauss bound needed.
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
  options: {
    maxSteps: number;
    checkEvery?: number;
    stop: (j: number, upper: number) => boolean;
    signal?: AbortSignal;
    /** Upper bound on the largest eigenvalue of W0·W0ᵀ (e.g. ‖W0‖_F²); enables the Christoffel bound. */
    spectrumUpper?: number;
  },
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
      // The rule is exact only when the recurrence really terminated (an invariant subspace);
      // stopping at maxSteps leaves the two-node bound.
      const terminated = beta <= 1e-13 * Math.max(scaleRef, 1e-300) || bases[j]!.length >= m;
      const last = terminated || step === maxSteps;
      if (step % checkEvery === 0 || last) {
        let upper = gaussAtomBound(alphas[j]!, betas[j]!, terminated);
        if (!terminated && options.spectrumUpper !== undefined && upper > 0) {
          upper = Math.min(upper, christoffelAtomBound(alphas[j]!, betas[j]!, beta, options.spectrumUpper));
        }
        results[j] = { upper, steps: step };
        if (last || options.stop(j, upper)) {
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

/** f(λ) = min_y ‖e₁ − T̂(λ)·y‖ and ‖y*‖ by Givens QR of the (s+1)×s tridiagonal-plus-row T̂(λ), O(s). */
export function christoffelResidual(alphas: readonly number[], betas: readonly number[], lastBeta: number, x: number): { f: number; ynorm: number } {
  const s = alphas.length;
  const r0 = new Float64Array(s); // R[j−2, j]
  const r1 = new Float64Array(s); // R[j−1, j]
  const rd = new Float64Array(s); // R[j, j]
  const g = new Float64Array(s + 1);
  g[0] = 1;
  let c2 = 1; // rotation j−2
  let s2 = 0;
  let c1 = 1; // rotation j−1
  let s1 = 0;
  for (let j = 0; j < s; j++) {
    const above = j > 0 ? betas[j - 1]! : 0;
    const below = j < s - 1 ? betas[j]! : lastBeta;
    // Rotation j−2 acts on rows (j−2, j−1): the column has 0 at row j−2.
    const top = s2 * above;
    let mid = c2 * above;
    let d = alphas[j]! - x;
    // Rotation j−1 acts on rows (j−1, j).
    const m2 = c1 * mid + s1 * d;
    d = -s1 * mid + c1 * d;
    mid = m2;
    const rho = Math.hypot(d, below);
    const c = rho > 0 ? d / rho : 1;
    const sn = rho > 0 ? below / rho : 0;
    r0[j] = top;
    r1[j] = mid;
    rd[j] = rho;
    const gj = g[j]!;
    g[j] = c * gj;
    g[j + 1] = -sn * gj;
    c2 = c1;
    s2 = s1;
    c1 = c;
    s1 = sn;
  }
  const f = Math.abs(g[s]!);
  const y = new Float64Array(s);
  let yy = 0;
  for (let j = s - 1; j >= 0; j--) {
    if (!(rd[j]! > 0)) return { f, ynorm: Infinity };
    let v = g[j]!;
    if (j + 1 < s) v -= r1[j + 1]! * y[j + 1]!;
    if (j + 2 < s) v -= r0[j + 2]! * y[j + 2]!;
    y[j] = v / rd[j]!;
    yy += y[j]! * y[j]!;
  }
  return { f, ynorm: Math.sqrt(yy) };
}

/** Largest of min(fa + t·Ya, fb + (h − t)·Yb) over t ∈ [0, h]: the bound on f inside a grid cell. */
function cellBound(fa: number, ya: number, fb: number, yb: number, h: number): number {
  if (!Number.isFinite(ya) && !Number.isFinite(yb)) return 1;
  if (!Number.isFinite(ya)) return fb + h * yb;
  if (!Number.isFinite(yb)) return fa + h * ya;
  const t = Math.min(h, Math.max(0, (fb - fa + h * yb) / Math.max(ya + yb, 1e-300)));
  return Math.min(fa + t * ya, fb + (h - t) * yb);
}

/**
 * Certified sqrt of the largest atom of the measure at any λ ∈ [0, Λ] (Christoffel bound, see the
 * header): f on a grid refined where its cell bound exceeds the largest grid value, at most
 * `maxEvaluations` points. `lastBeta` is β_s, the norm of the step-s residual.
 */
export function christoffelAtomBound(alphas: readonly number[], betas: readonly number[], lastBeta: number, spectrumUpper: number, maxEvaluations = 20000): number {
  const s = alphas.length;
  if (s === 0 || !(spectrumUpper > 0)) return 1;
  const at = (x: number): { x: number; f: number; y: number } => {
    const r = christoffelResidual(alphas, betas, lastBeta, x);
    return { x, f: r.f, y: r.ynorm };
  };
  // Start: a uniform grid plus the Ritz values (where the measure's mass sits, f peaks near them).
  const xs = new Set<number>();
  const n0 = 256;
  for (let i = 0; i <= n0; i++) xs.add((spectrumUpper * i) / n0);
  const eig = symmetricEigen(s, tridiagonal(alphas, betas));
  for (const t of eig.values) if (t > 0 && t < spectrumUpper) xs.add(t);
  const points = [...xs].sort((a, b) => a - b).map(at);
  let evaluations = points.length;
  let floor = 0;
  for (const p of points) floor = Math.max(floor, p.f);
  const slack = 0.002;
  let worst = 0;
  // Depth-first refinement of each cell whose bound exceeds the grid maximum by more than `slack`.
  for (let i = 0; i + 1 < points.length; i++) {
    const stack: [{ x: number; f: number; y: number }, { x: number; f: number; y: number }][] = [[points[i]!, points[i + 1]!]];
    while (stack.length > 0) {
      const [a, b] = stack.pop()!;
      const bound = cellBound(a.f, a.y, b.f, b.y, b.x - a.x);
      if (bound <= floor + slack || evaluations >= maxEvaluations || b.x - a.x <= spectrumUpper * 1e-12) {
        worst = Math.max(worst, bound);
        continue;
      }
      const mid = at((a.x + b.x) / 2);
      evaluations++;
      floor = Math.max(floor, mid.f);
      stack.push([a, mid], [mid, b]);
    }
  }
  // Rounding in the recurrence: the same small absolute slack on the atom as the Gauss bound.
  return Math.min(1, Math.sqrt(Math.min(1, worst * worst + 1e-9)));
}

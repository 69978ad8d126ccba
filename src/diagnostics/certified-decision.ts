// The certified partial-basis test (algorithms.md §6.4). For a unit vector u and
// the top-K orthonormal left singular vectors of W0: c_K = max_i |u_iᵀu| is the
// exact max over those K, and ρ = sqrt(1 − Σ c_i²) bounds every uncomputed cosine
// (the remaining base vectors are orthonormal and orthogonal to the K known ones).
// So the true max cosine c lies in [c_K, max(c_K, ρ)], and u is an intruder at ε
// (c < ε) when max(c_K, ρ) < ε, not one when c_K ≥ ε, and undecided otherwise.
import { dot } from './dense-kernels.ts';

export interface CosineBounds {
  /** Lower bound on max_i |cos(u, u_i)| over ALL base vectors (= c_K, less numerical margin). */
  readonly lower: number;
  /** Upper bound (= max(c_K, ρ) plus margin; equals lower when the basis is complete). */
  readonly upper: number;
  /** c_K: the max over the K known base vectors. */
  readonly maxKnown: number;
  /** Index of the base vector attaining c_K. */
  readonly argmax: number;
  /** ρ: norm of the part of u outside the known base vectors. */
  readonly rho: number;
  /** |cos| with each known base vector, in base order. */
  readonly cosines: Float64Array;
}

/**
 * Bounds on the max |cos| of `u` with all base left singular vectors.
 * `complete`: the basis holds every base singular vector (the full SVD), so c = c_K exactly.
 * `margin`: numerical error allowed on each cosine (angle bounds of the iterative vectors).
 */
export function cosineBounds(
  u: Float64Array,
  basis: readonly Float64Array[],
  complete: boolean,
  margin = 0,
): CosineBounds {
  const cosines = new Float64Array(basis.length);
  let maxKnown = 0;
  let argmax = -1;
  let mass = 0;
  for (let i = 0; i < basis.length; i++) {
    const c = Math.abs(dot(u, basis[i]!));
    cosines[i] = c;
    mass += c * c;
    if (c > maxKnown) {
      maxKnown = c;
      argmax = i;
    }
  }
  const rho = Math.sqrt(Math.max(0, 1 - mass));
  if (complete) {
    return { lower: maxKnown - margin, upper: maxKnown + margin, maxKnown, argmax, rho, cosines };
  }
  // Each cosine may be off by `margin`; Σc² by at most 2·K·margin, so ρ by sqrt of that.
  const rhoMargin = Math.sqrt(2 * basis.length * margin) + margin;
  return {
    lower: maxKnown - margin,
    upper: Math.max(maxKnown + margin, rho + rhoMargin),
    maxKnown,
    argmax,
    rho,
    cosines,
  };
}

export type Decision = 'intruder' | 'not-intruder' | 'undecided';

/** Intruder iff the max cosine is < ε; decided only when the bounds agree. */
export function decide(bounds: Pick<CosineBounds, 'lower' | 'upper'>, epsilon: number): Decision {
  if (bounds.lower >= epsilon) return 'not-intruder';
  if (bounds.upper < epsilon) return 'intruder';
  return 'undecided';
}

// The merge report's Frobenius figures for an output that lies in the inputs' span
// (B = B_cat·P, A = Q·A_cat; kernels/input-span.ts): every norm is ‖R_B·E·R_Aᵀ‖_F for a c×c
// coefficient matrix E, so no m- or n-sized work is left once the span exists. Differences that
// may cancel (merged vs one input, merged vs the exact sum) are formed in coefficient space first,
// so an exact reproduction measures exactly 0.
import type { SpanCoefficients } from '../method-types.ts';
import { frobeniusOf, type InputSpan } from './input-span.ts';

/** A difference measured in Z-space below this fraction of its terms is recomputed from coefficients. */
const CANCELLATION_FRACTION = 1e-6;

export interface SpanMeasures {
  /** ‖Σ d_t X_t‖_F. */
  readonly exactNorm: number;
  /** ‖merged − Σ d_t X_t‖_F. */
  readonly error: number;
  readonly mergedNorm: number;
  /** Per input t: ‖d_t X_t‖, ‖merged − d_t X_t‖, ⟨merged, d_t X_t⟩. */
  readonly perInput: readonly { readonly own: number; readonly error: number; readonly cross: number }[];
}

/** `inputCoefs[t]` multiplies input t's raw B_t·A_t in the exact target (weight·scale, normalised if the method says so). */
export function measureInSpan(span: InputSpan, inputCoefs: readonly number[], coefficients: SpanCoefficients): SpanMeasures {
  const { c, offsets } = span;
  const { P, Q, k } = coefficients;
  // M = P·Q (c×c): the merged output's coefficients (for the exact-difference fallbacks).
  let M: Float64Array | undefined;
  const merged = (): Float64Array => {
    if (M) return M;
    M = new Float64Array(c * c);
    for (let a = 0; a < c; a++) {
      for (let q = 0; q < k; q++) {
        const p = P[a * k + q]!;
        if (p === 0) continue;
        for (let b = 0; b < c; b++) M[a * c + b]! += p * Q[q * c + b]!;
      }
    }
    return M;
  };
  const d = new Float64Array(c);
  inputCoefs.forEach((w, t) => d.fill(w, offsets[t]!, offsets[t + 1]!));
  /** merged − Σ_{t in select} d_t X_t, formed in coefficient space (no cancellation of squares). */
  const exactDifference = (from: number, to: number): number => {
    const E = Float64Array.from(merged());
    for (let a = from; a < to; a++) E[a * c + a]! -= d[a]!;
    return frobeniusOf(span.project(E));
  };
  const zM = span.projectFactors(P, Q, k);
  const mergedNorm = frobeniusOf(zM);
  const differenceNorm = (z: Float64Array, own: number, from: number, to: number): number => {
    let s = 0;
    for (let i = 0; i < z.length; i++) s += (zM[i]! - z[i]!) ** 2;
    const e = Math.sqrt(s);
    return e < CANCELLATION_FRACTION * Math.max(own, mergedNorm) ? exactDifference(from, to) : e;
  };
  const zD = span.projectDiagonal(d, 0, c);
  const exactNorm = frobeniusOf(zD);
  const perInput = inputCoefs.map((_, t) => {
    const from = offsets[t]!;
    const to = offsets[t + 1]!;
    const zt = span.projectDiagonal(d, from, to);
    const own = frobeniusOf(zt);
    let cross = 0;
    for (let i = 0; i < zt.length; i++) cross += zM[i]! * zt[i]!;
    return { own, error: differenceNorm(zt, own, from, to), cross };
  });
  return { exactNorm, error: differenceNorm(zD, exactNorm, 0, c), mergedNorm, perInput };
}

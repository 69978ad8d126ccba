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
  // M = P·Q (c×c): the merged output's coefficients.
  const M = new Float64Array(c * c);
  for (let a = 0; a < c; a++) {
    for (let q = 0; q < k; q++) {
      const p = P[a * k + q]!;
      if (p === 0) continue;
      for (let b = 0; b < c; b++) M[a * c + b]! += p * Q[q * c + b]!;
    }
  }
  const diagonal = (select: (t: number) => boolean): Float64Array => {
    const D = new Float64Array(c * c);
    inputCoefs.forEach((w, t) => {
      if (!select(t)) return;
      for (let a = offsets[t]!; a < offsets[t + 1]!; a++) D[a * c + a] = w;
    });
    return D;
  };
  const minus = (X: Float64Array, Y: Float64Array): Float64Array => X.map((v, i) => v - Y[i]!);
  const inner = (X: Float64Array, Y: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < X.length; i++) s += X[i]! * Y[i]!;
    return s;
  };
  const D = diagonal(() => true);
  const zM = span.project(M);
  const perInput = inputCoefs.map((_, t) => {
    const Dt = diagonal((u) => u === t);
    const zt = span.project(Dt);
    const own = frobeniusOf(zt);
    let error = frobeniusOf(minus(zM, zt));
    if (error < CANCELLATION_FRACTION * Math.max(own, frobeniusOf(zM))) error = frobeniusOf(span.project(minus(M, Dt)));
    return { own, error, cross: inner(zM, zt) };
  });
  return {
    exactNorm: frobeniusOf(span.project(D)),
    error: frobeniusOf(span.project(minus(M, D))),
    mergedNorm: frobeniusOf(zM),
    perInput,
  };
}

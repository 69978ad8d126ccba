// Products between lists of long f64 vectors (Krylov bases: tens to hundreds of vectors of length
// m ≤ 10⁵), register-blocked so that each pass over the vectors does several multiply-adds per load:
// the inner products of every pair of two lists, and the subtraction of a combination of one list
// from another (the two halves of a block Gram–Schmidt pass).

/** out[i·Y.length + j] = X[i]ᵀ·Y[j] (first `length` entries). 2×4 blocks: six loads per eight multiply-adds. */
export function crossDots(X: readonly Float64Array[], Y: readonly Float64Array[], length: number): Float64Array {
  const nx = X.length;
  const ny = Y.length;
  const out = new Float64Array(nx * ny);
  for (let a = 0; a < nx; a += 2) {
    const x0 = X[a]!;
    const two = a + 1 < nx;
    const x1 = two ? X[a + 1]! : x0;
    let b = 0;
    for (; b + 4 <= ny; b += 4) {
      const y0 = Y[b]!;
      const y1 = Y[b + 1]!;
      const y2 = Y[b + 2]!;
      const y3 = Y[b + 3]!;
      let s00 = 0;
      let s01 = 0;
      let s02 = 0;
      let s03 = 0;
      let s10 = 0;
      let s11 = 0;
      let s12 = 0;
      let s13 = 0;
      for (let i = 0; i < length; i++) {
        const u = x0[i]!;
        const v = x1[i]!;
        const r0 = y0[i]!;
        const r1 = y1[i]!;
        const r2 = y2[i]!;
        const r3 = y3[i]!;
        s00 += u * r0;
        s01 += u * r1;
        s02 += u * r2;
        s03 += u * r3;
        s10 += v * r0;
        s11 += v * r1;
        s12 += v * r2;
        s13 += v * r3;
      }
      const p = a * ny + b;
      out[p] = s00;
      out[p + 1] = s01;
      out[p + 2] = s02;
      out[p + 3] = s03;
      if (two) {
        out[p + ny] = s10;
        out[p + ny + 1] = s11;
        out[p + ny + 2] = s12;
        out[p + ny + 3] = s13;
      }
    }
    for (; b < ny; b++) {
      const y = Y[b]!;
      let s0 = 0;
      let s1 = 0;
      for (let i = 0; i < length; i++) {
        const r = y[i]!;
        s0 += x0[i]! * r;
        s1 += x1[i]! * r;
      }
      out[a * ny + b] = s0;
      if (two) out[(a + 1) * ny + b] = s1;
    }
  }
  return out;
}

/**
 * W[j] −= Σ_i C[i·W.length + j]·Q[i] for every j (first `length` entries), four Q vectors per pass:
 * five loads and one store per four multiply-adds.
 */
export function subtractCombination(W: readonly Float64Array[], Q: readonly Float64Array[], C: Float64Array, length: number): void {
  const nw = W.length;
  const nq = Q.length;
  for (let j = 0; j < nw; j++) {
    const w = W[j]!;
    let i = 0;
    for (; i + 4 <= nq; i += 4) {
      const c0 = C[i * nw + j]!;
      const c1 = C[(i + 1) * nw + j]!;
      const c2 = C[(i + 2) * nw + j]!;
      const c3 = C[(i + 3) * nw + j]!;
      const q0 = Q[i]!;
      const q1 = Q[i + 1]!;
      const q2 = Q[i + 2]!;
      const q3 = Q[i + 3]!;
      for (let l = 0; l < length; l++) w[l] = w[l]! - (c0 * q0[l]! + c1 * q1[l]! + c2 * q2[l]! + c3 * q3[l]!);
    }
    for (; i < nq; i++) {
      const c = C[i * nw + j]!;
      if (c === 0) continue;
      const q = Q[i]!;
      for (let l = 0; l < length; l++) w[l] = w[l]! - c * q[l]!;
    }
  }
}

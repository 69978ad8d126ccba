// The canonical gauge of one rank-one unit (algorithms.md §1.3): balance the norms
// of b and a, then make the largest-|·| entry of a positive (lowest index on ties).
// (b, a), (−b, −a) and (c·b, a/c) all map to the same pair.

/** Relative margin by which a later entry of a must exceed the dominant one to displace it (so c·a and a agree). */
export const DOMINANT_MARGIN = 1e-12;

/** Canonicalises b and a in place. Returns false (and leaves them) when the unit is zero. */
export function canonicalizeUnit(b: Float64Array, a: Float64Array): boolean {
  let nb = 0;
  for (let i = 0; i < b.length; i++) nb += b[i]! * b[i]!;
  let na = 0;
  for (let i = 0; i < a.length; i++) na += a[i]! * a[i]!;
  nb = Math.sqrt(nb);
  na = Math.sqrt(na);
  if (nb === 0 || na === 0) return false;
  const rho = Math.sqrt(nb / na);
  let dominant = 0;
  let dominantAbs = -1;
  for (let i = 0; i < a.length; i++) {
    const x = Math.abs(a[i]!);
    // Compare after rounding away the last bits so that c·a and a pick the same index.
    if (x > dominantAbs * (1 + DOMINANT_MARGIN)) {
      dominantAbs = x;
      dominant = i;
    }
  }
  const sign = a[dominant]! < 0 ? -1 : 1;
  const fb = sign / rho;
  const fa = sign * rho;
  for (let i = 0; i < b.length; i++) b[i] = b[i]! * fb;
  for (let i = 0; i < a.length; i++) a[i] = a[i]! * fa;
  return true;
}

/** Normalises each part to unit L2 norm (nsc_merging's clustering feature); zero parts stay zero. */
export function normalizeParts(b: Float64Array, a: Float64Array): void {
  for (const v of [b, a]) {
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
    const norm = Math.sqrt(s) + 1e-8;
    for (let i = 0; i < v.length; i++) v[i] = v[i]! / norm;
  }
}

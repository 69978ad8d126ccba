// torch.quantile's default linear interpolation (algorithms.md §6.5, A24):
// sort x, h = q·(N−1), Q = x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋]).

export function quantileLinear(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  if (n === 0) return 0;
  const h = q * (n - 1);
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/** Clamps in place to [−hi, hi]. */
export function clampSymmetric(values: Float64Array, hi: number): void {
  for (let i = 0; i < values.length; i++) values[i] = Math.min(hi, Math.max(-hi, values[i]!));
}

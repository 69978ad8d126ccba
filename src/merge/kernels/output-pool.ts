// Recycled buffers for merge outputs. On this kind of host first-touching fresh memory costs
// ~2–4 ms per MB (page faults; bench/merge), so a method's m×k / k×n output allocated fresh for
// every module cost more than the arithmetic producing it. executeMerge encodes a module's
// output, then hands the buffers back here; the next module's output reuses them. Only
// buffers this pool handed out are ever taken back (a WeakSet of their ArrayBuffers), so inputs
// or arrays owned elsewhere are never recycled, and a caller that never releases (tests, other
// users of a method) simply gets fresh memory each time.
const FREE_LIMIT = 3;
const ours = new WeakSet<ArrayBufferLike>();
const free: Float64Array[] = [];

/** A Float64Array of `length` values; contents unspecified unless `zero` (callers write every entry). */
export function outputF64(length: number, zero = false): Float64Array {
  let best = -1;
  for (let i = 0; i < free.length; i++) {
    const cap = free[i]!.length;
    if (cap >= length && (best < 0 || cap < free[best]!.length)) best = i;
  }
  if (best < 0) {
    const buf = new Float64Array(length);
    ours.add(buf.buffer);
    return buf;
  }
  const buf = free.splice(best, 1)[0]!;
  const view = buf.subarray(0, length);
  if (zero) view.fill(0);
  return view;
}

/** Hands buffers back once nothing reads them any more; arrays the pool did not make are ignored. */
export function releaseOutput(...arrays: readonly Float64Array[]): void {
  for (const a of arrays) {
    if (!ours.has(a.buffer) || free.some((f) => f.buffer === a.buffer)) continue;
    free.push(new Float64Array(a.buffer));
    if (free.length > FREE_LIMIT) free.shift();
  }
}

// The element-wise building blocks of PEFT's merge_utils (algorithms.md §3.3),
// as one generalised task-arithmetic kernel: optional sparsification
// (magnitude / random), optional sign consensus, weighted sum or disjoint mean.
// TIES, DARE and magnitude pruning are rows of the registry that configure it.
import type { Rng } from '../../util/rng.ts';

export type Sparsification = 'none' | 'magnitude' | 'random';
export type SignMethod = 'total' | 'frequency';
export type ZeroSign = 'plus' | 'tiesOfficial';

export interface TaskArithmeticConfig {
  readonly sparsification: Sparsification;
  /** Fraction of entries kept (PEFT `density`). */
  readonly density: number;
  /** Divide kept entries by density (DARE). */
  readonly rescale: boolean;
  /** Elect a sign per coordinate and average the agreeing entries (TIES). */
  readonly consensus: SignMethod | 'none';
  readonly zeroSign: ZeroSign;
}

/** Where a per-tensor magnitude trim cuts: entries above `threshold` stay, and the first `tiesToKeep` entries equal to it (in flat order). */
export interface MagnitudeCut {
  readonly keepAll: boolean;
  readonly threshold: number;
  readonly tiesToKeep: number;
}

/** Finds the cut keeping exactly ⌊density·numel⌋ entries of largest |·| (ties: lower flat index). Mutates `abs`. */
export function magnitudeCut(abs: Float64Array, density: number): MagnitudeCut {
  const n = abs.length;
  if (density >= 1) return { keepAll: true, threshold: 0, tiesToKeep: 0 };
  const keep = Math.floor(density * n);
  if (keep <= 0) return { keepAll: false, threshold: Infinity, tiesToKeep: 0 };
  const threshold = kthLargest(abs, keep);
  let above = 0;
  for (let i = 0; i < n; i++) if (abs[i]! > threshold) above++;
  return { keepAll: false, threshold, tiesToKeep: keep - above };
}

/** Histogram bins: the top 19 bits of |x|'s float64 pattern after the sign (11 exponent + 8 mantissa). */
const HIST_SHIFT = 12;
const HIST_BINS = 1 << (31 - HIST_SHIFT);
const HI_WORD = new Uint32Array(new Float64Array([1]).buffer)[1] !== 0 ? 1 : 0;

/**
 * magnitudeCut for a tensor seen only as a stream of blocks (never held whole): `replay(sink)`
 * must feed the |values| of the whole tensor, block after block in flat order; it is called twice.
 * Pass 1 histograms the float64 bit patterns (order-preserving for |x| ≥ 0) into 2¹⁹ bins and finds
 * the bin holding the k-th largest; pass 2 collects only that bin's values and selects exactly in
 * them. Exact zeros are counted, not collected. The result equals magnitudeCut on the whole tensor.
 */
export function magnitudeCutStreaming(numel: number, density: number, replay: (sink: (abs: Float64Array) => void) => void): MagnitudeCut {
  if (density >= 1) return { keepAll: true, threshold: 0, tiesToKeep: 0 };
  const keep = Math.floor(density * numel);
  if (keep <= 0) return { keepAll: false, threshold: Infinity, tiesToKeep: 0 };
  const hist = new Float64Array(HIST_BINS);
  let nonzero = 0;
  replay((abs) => {
    const words = new Uint32Array(abs.buffer, abs.byteOffset, abs.length * 2);
    for (let i = 0; i < abs.length; i++) {
      if (abs[i] === 0) continue;
      nonzero++;
      hist[(words[2 * i + HI_WORD]! & 0x7fffffff) >>> HIST_SHIFT]!++;
    }
  });
  if (keep > nonzero) {
    // The cut falls into the zeros: every non-zero stays, plus the first (keep − nonzero) zeros.
    return { keepAll: false, threshold: 0, tiesToKeep: keep - nonzero };
  }
  let above = 0;
  let bin = HIST_BINS - 1;
  for (; bin >= 0; bin--) {
    if (above + hist[bin]! >= keep) break;
    above += hist[bin]!;
  }
  const members = new Float64Array(hist[bin]!);
  let filled = 0;
  replay((abs) => {
    const words = new Uint32Array(abs.buffer, abs.byteOffset, abs.length * 2);
    for (let i = 0; i < abs.length; i++) {
      if (abs[i] === 0) continue;
      if ((words[2 * i + HI_WORD]! & 0x7fffffff) >>> HIST_SHIFT === bin) members[filled++] = abs[i]!;
    }
  });
  const threshold = kthLargest(members, keep - above);
  for (let i = 0; i < members.length; i++) if (members[i]! > threshold) above++;
  return { keepAll: false, threshold, tiesToKeep: keep - above };
}

/** Applies a cut to the next stretch of the tensor in flat order; `state.tiesLeft` carries across stretches. */
export function applyMagnitudeCut(values: Float64Array | Float32Array, cut: MagnitudeCut, state: { tiesLeft: number }): void {
  if (cut.keepAll) return;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]!);
    if (a > cut.threshold) continue;
    if (a === cut.threshold && state.tiesLeft > 0) {
      state.tiesLeft--;
      continue;
    }
    values[i] = 0;
  }
}

/**
 * Keeps exactly ⌊density·numel⌋ entries of largest |·| (ties broken by the lower flat index),
 * zeroing the rest in place. density ≥ 1 keeps everything.
 */
export function pruneMagnitude(values: Float64Array | Float32Array, density: number): void {
  const abs = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) abs[i] = Math.abs(values[i]!);
  const cut = magnitudeCut(abs, density);
  applyMagnitudeCut(values, cut, { tiesLeft: cut.tiesToKeep });
}

/** k-th largest value (1-based) by quickselect; mutates `scratch`. */
function kthLargest(scratch: Float64Array, k: number): number {
  let lo = 0;
  let hi = scratch.length - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = scratch[(lo + hi) >>> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (scratch[i]! > pivot) i++;
      while (scratch[j]! < pivot) j--;
      if (i <= j) {
        const t = scratch[i]!;
        scratch[i] = scratch[j]!;
        scratch[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return scratch[target]!;
  }
  return scratch[target]!;
}

/** Bernoulli keep-mask with probability density; kept entries divided by density when rescaling. */
export function pruneRandom(values: Float64Array | Float32Array, density: number, rescale: boolean, rng: Rng, mask?: ArrayLike<number>): void {
  if (density >= 1 && !mask) return;
  const factor = rescale && density > 0 ? 1 / density : 1;
  for (let i = 0; i < values.length; i++) {
    const keep = mask ? mask[i] !== 0 : rng.next() < density;
    values[i] = keep ? values[i]! * factor : 0;
  }
}

/**
 * Merges pruned task tensors: weighted sum (no consensus) or TIES disjoint mean of the
 * weighted entries whose sign agrees with the sign elected on the unweighted tensors.
 */
export function combineTasks(
  tasks: readonly (Float64Array | Float32Array)[],
  weights: readonly number[],
  config: Pick<TaskArithmeticConfig, 'consensus' | 'zeroSign'>,
  out: Float64Array | Float32Array,
): void {
  const n = out.length;
  const t = tasks.length;
  if (config.consensus === 'none') {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < t; k++) s += weights[k]! * tasks[k]![i]!;
      out[i] = s;
    }
    return;
  }
  let globalSignSum = 0;
  if (config.zeroSign === 'tiesOfficial') {
    for (let i = 0; i < n; i++) {
      let mu = 0;
      for (let k = 0; k < t; k++) mu += tasks[k]![i]!;
      globalSignSum += Math.sign(mu);
    }
  }
  for (let i = 0; i < n; i++) {
    let mu = 0;
    for (let k = 0; k < t; k++) {
      const v = tasks[k]![i]!;
      mu += config.consensus === 'total' ? v : Math.sign(v);
    }
    let gamma: number;
    if (mu > 0) gamma = 1;
    else if (mu < 0) gamma = -1;
    else gamma = config.zeroSign === 'plus' ? 1 : Math.sign(globalSignSum);
    let s = 0;
    let count = 0;
    for (let k = 0; k < t; k++) {
      const v = tasks[k]![i]!;
      // tiesOfficial: a zero elected sign selects entries < 0 (the official code's `>0` test on sign·value fails for sign 0, and its fallback keeps negatives).
      const agrees = gamma === 0 ? v < 0 : Math.sign(v) === gamma;
      if (agrees && v !== 0) {
        s += weights[k]! * v;
        count++;
      }
    }
    out[i] = s / Math.max(1, count);
  }
}

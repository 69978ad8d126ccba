// Truncation of a thin SVD to a rank-k LoRA pair in the balanced split
// B = U_k·diag(√S_k), A = diag(√S_k)·Vt_k (so ‖B‖_F = ‖A‖_F and B·A is the best rank-k approximation).
import { WorkbenchError } from '../errors.ts';
import { zeros } from '../tensor/matrix.ts';
import type { Mat } from '../tensor/matrix.ts';
import type { Svd } from './svd-small.ts';

export interface TruncateOptions {
  /** Keep at most this many triplets (clamped to the number available). */
  readonly rank?: number;
  /** 0 < energy ≤ 1: keep the smallest k whose Σ_{j≤k} σ_j² reaches this fraction of Σ σ_j². */
  readonly energy?: number;
  /** Storage for B's and A's data (default: fresh arrays); must return `length` zeros. */
  readonly allocate?: (length: number) => Float64Array;
}

export interface Truncation {
  readonly B: Mat;
  readonly A: Mat;
  readonly rank: number;
  /** Σ_{j≤k} σ_j² / Σ σ_j² (1 for a zero input). */
  readonly keptEnergy: number;
  /** 1 − keptEnergy, computed from the discarded values (so it stays exact when tiny). */
  readonly discardedEnergy: number;
}

/**
 * With both options, the smaller of the two ranks wins. With neither, every triplet is kept.
 * Energy is compared with a relative slack of 1e-12 so that e = 1 keeps exactly the non-zero values.
 */
export function truncateSvd(svd: Svd, options: TruncateOptions = {}): Truncation {
  const { U, S, Vt } = svd;
  const available = S.length;
  const { rank, energy } = options;
  if (rank !== undefined && (!Number.isInteger(rank) || rank < 0)) {
    throw new WorkbenchError('INVALID_ARGUMENT', `truncation rank must be a non-negative integer, got ${rank}`, { details: { rank } });
  }
  if (energy !== undefined && !(energy > 0 && energy <= 1)) {
    throw new WorkbenchError('INVALID_ARGUMENT', `energy threshold must satisfy 0 < e ≤ 1, got ${energy}`, { details: { energy } });
  }
  let total = 0;
  for (let j = 0; j < available; j++) total += S[j]! * S[j]!;
  let k = rank === undefined ? available : Math.min(rank, available);
  if (energy !== undefined && total > 0) {
    let acc = 0;
    let byEnergy = available;
    for (let j = 0; j < available; j++) {
      acc += S[j]! * S[j]!;
      if (acc >= energy * total * (1 - 1e-12)) {
        byEnergy = j + 1;
        break;
      }
    }
    // The energy rule and the rank cap both bound k; the tighter one wins.
    k = Math.min(k, byEnergy);
  }
  let kept = 0;
  for (let j = 0; j < k; j++) kept += S[j]! * S[j]!;
  let discarded = 0;
  for (let j = k; j < available; j++) discarded += S[j]! * S[j]!;
  const m = U.rows;
  const n = Vt.cols;
  const alloc = options.allocate;
  const B = alloc ? { rows: m, cols: k, data: alloc(m * k) } : zeros(m, k);
  const A = alloc ? { rows: k, cols: n, data: alloc(k * n) } : zeros(k, n);
  for (let j = 0; j < k; j++) {
    const r = Math.sqrt(S[j]!);
    for (let i = 0; i < m; i++) B.data[i * k + j] = U.data[i * U.cols + j]! * r;
    for (let c = 0; c < n; c++) A.data[j * n + c] = Vt.data[j * n + c]! * r;
  }
  return {
    B,
    A,
    rank: k,
    keptEnergy: total > 0 ? kept / total : 1,
    discardedEnergy: total > 0 ? discarded / total : 0,
  };
}

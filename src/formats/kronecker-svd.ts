// LoKr → LoRA (algorithms.md §5.2, A15): kron(W1, W2) = (U1⊗U2)(S1⊗S2)(V1⊗V2)ᵀ, so its singular values
// are the products σ1_i·σ2_j and its best rank-k approximation keeps the k largest products, with
// b = σ1_iσ2_j·(u1_i ⊗ u2_j), a = v1_i ⊗ v2_j. Two small SVDs; the ab×cd matrix is never formed.
// ‖kron(W1, W2)‖_F = ‖W1‖_F·‖W2‖_F exactly, so the reported error needs no dense matrix either.
import { WorkbenchError } from '../errors.ts';
import { frobeniusNorm, type Mat } from '../tensor/matrix.ts';
import { svdSmall } from '../linalg/svd-small.ts';

const EPS = 2.220446049250313e-16;

export interface KroneckerTruncateOptions {
  /** Keep at most this many products. */
  readonly rank?: number;
  /** 0 < energy ≤ 1: smallest k whose kept Σσ² reaches this fraction of ‖ΔW‖_F². */
  readonly energy?: number;
}

export interface KroneckerLora {
  /** (a·b)×k: columns σ1_iσ2_j·(u1_i ⊗ u2_j). */
  readonly B: Mat;
  /** k×(c·d): rows v1_i ⊗ v2_j. */
  readonly A: Mat;
  readonly rank: number;
  /** The kept singular values of kron(W1, W2), descending. */
  readonly singularValues: Float64Array;
  /** ‖kron(W1, W2)‖_F = ‖W1‖_F·‖W2‖_F. */
  readonly norm: number;
  /** ‖kron − B·A‖_F / ‖kron‖_F from the discarded products (0 for a zero input). */
  readonly relativeError: number;
  /** True when every non-zero product was kept. */
  readonly exact: boolean;
}

/** kron(W1, W2)[i1·b + i2, j1·d + j2] = W1[i1, j1]·W2[i2, j2], as a rank-k LoRA pair. */
export function kroneckerToLora(W1: Mat, W2: Mat, options: KroneckerTruncateOptions = {}): KroneckerLora {
  const { rank, energy } = options;
  if (rank !== undefined && (!Number.isInteger(rank) || rank < 1)) {
    throw new WorkbenchError('INVALID_ARGUMENT', `LoKr conversion rank must be a positive integer, got ${rank}`, { details: { rank } });
  }
  if (energy !== undefined && !(energy > 0 && energy <= 1)) {
    throw new WorkbenchError('INVALID_ARGUMENT', `energy threshold must satisfy 0 < e ≤ 1, got ${energy}`, { details: { energy } });
  }
  const s1 = svdSmall(W1);
  const s2 = svdSmall(W2);
  const norm = frobeniusNorm(W1) * frobeniusNorm(W2);
  const m = W1.rows * W2.rows;
  const n = W1.cols * W2.cols;
  const products: { i: number; j: number; sigma: number }[] = [];
  for (let i = 0; i < s1.S.length; i++) {
    for (let j = 0; j < s2.S.length; j++) products.push({ i, j, sigma: s1.S[i]! * s2.S[j]! });
  }
  products.sort((x, y) => y.sigma - x.sigma || x.i - y.i || x.j - y.j);
  const top = products[0]?.sigma ?? 0;
  const tolerance = Math.max(m, n) * EPS * top;
  const nonZero = products.filter((p) => p.sigma > tolerance).length;
  // With no rank or energy asked for, every product is kept (zeros included), so the rank is
  // min(a,c)·min(b,d), known from the shapes before any data is read.
  let k = products.length;
  if (rank !== undefined) k = Math.min(k, rank);
  if (energy !== undefined && norm > 0) {
    const total = norm * norm;
    let kept = 0;
    let needed = 0;
    while (needed < nonZero && kept < energy * total * (1 - 1e-12)) {
      kept += products[needed]!.sigma ** 2;
      needed++;
    }
    k = Math.min(k, Math.max(needed, 1));
  }
  k = Math.max(k, Math.min(1, products.length));
  const a = W1.rows, b = W2.rows, c = W1.cols, d = W2.cols;
  const B = { rows: m, cols: k, data: new Float64Array(m * k) };
  const A = { rows: k, cols: n, data: new Float64Array(k * n) };
  const kept = new Float64Array(k);
  for (let t = 0; t < k; t++) {
    const { i, j, sigma } = products[t]!;
    kept[t] = sigma;
    for (let i1 = 0; i1 < a; i1++) {
      const u1 = s1.U.data[i1 * s1.U.cols + i]! * sigma;
      for (let i2 = 0; i2 < b; i2++) B.data[(i1 * b + i2) * k + t] = u1 * s2.U.data[i2 * s2.U.cols + j]!;
    }
    for (let j1 = 0; j1 < c; j1++) {
      const v1 = s1.Vt.data[i * c + j1]!;
      for (let j2 = 0; j2 < d; j2++) A.data[t * n + j1 * d + j2] = v1 * s2.Vt.data[j * d + j2]!;
    }
  }
  let discarded = 0;
  for (let t = k; t < products.length; t++) discarded += products[t]!.sigma ** 2;
  const relativeError = norm > 0 ? Math.sqrt(discarded) / norm : 0;
  return { B, A, rank: k, singularValues: kept, norm, relativeError, exact: k >= nonZero };
}

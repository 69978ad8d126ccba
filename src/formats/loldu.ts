// LoLDU (algorithms.md §5.6, A20): W0 = P·L·diag(D)·U (partial pivoting, U unit-diagonal). The file holds
// only z (length r); P, L_r, U_r are recomputed from W0. ΔW = s·P·L_r·diag(z − D_r)·U_r →
// exact LoRA B' = s·P·L_r·diag(z − D_r), A' = U_r.
import { WorkbenchError } from '../errors.ts';
import type { Mat } from '../tensor/matrix.ts';

export interface Ldu {
  /** perm[i] = the row of W0 that sits at row i of P ᵀW0 (P[perm[i], i] = 1). */
  readonly perm: readonly number[];
  /** m×k unit lower-triangular. */
  readonly L: Mat;
  readonly D: Float64Array;
  /** k×n unit upper-triangular. */
  readonly U: Mat;
}

/** LU with partial pivoting (largest |pivot|, first index on ties), split into L·diag(D)·U. */
export function lduDecompose(W0: Mat): Ldu {
  return luSteps(W0, Math.min(W0.rows, W0.cols));
}

/**
 * The first `steps` columns of the pivoted elimination: P·L[:, :steps], D[:steps] and U[:steps] are final
 * after `steps` steps (later swaps move an original row together with its multipliers, and never touch
 * rows < steps), so LoLDU with rank r costs O(m·n·r), not O(m·n·min(m,n)).
 */
export function luSteps(W0: Mat, steps: number): Ldu {
  const m = W0.rows;
  const n = W0.cols;
  const k = steps;
  const a = Float64Array.from(W0.data);
  const perm = Array.from({ length: m }, (_, i) => i);
  for (let c = 0; c < k; c++) {
    let p = c;
    for (let i = c + 1; i < m; i++) if (Math.abs(a[i * n + c]!) > Math.abs(a[p * n + c]!)) p = i;
    if (a[p * n + c] === 0) {
      throw new WorkbenchError('FAMILY_TENSORS_INVALID', `LoLDU: the base weight has a zero pivot in column ${c}; its LDU factors are undefined`, {
        details: { column: c },
      });
    }
    if (p !== c) {
      for (let j = 0; j < n; j++) {
        const t = a[c * n + j]!;
        a[c * n + j] = a[p * n + j]!;
        a[p * n + j] = t;
      }
      [perm[c], perm[p]] = [perm[p]!, perm[c]!];
    }
    for (let i = c + 1; i < m; i++) {
      const f = a[i * n + c]! / a[c * n + c]!;
      a[i * n + c] = f;
      for (let j = c + 1; j < n; j++) a[i * n + j]! -= f * a[c * n + j]!;
    }
  }
  const L = new Float64Array(m * k);
  for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) L[i * k + j] = i === j ? 1 : i > j ? a[i * n + j]! : 0;
  const D = new Float64Array(k);
  const U = new Float64Array(k * n);
  for (let i = 0; i < k; i++) {
    D[i] = a[i * n + i]!;
    for (let j = i; j < n; j++) U[i * n + j] = j === i ? 1 : a[i * n + j]! / D[i]!;
  }
  return { perm, L: { rows: m, cols: k, data: L }, D, U: { rows: k, cols: n, data: U } };
}

/** B' (m×r, scale folded in) and A' (r×n) of the LoLDU delta. */
export function lolduToLora(W0: Mat, z: Float64Array, scale: number): { B: Mat; A: Mat } {
  const r = z.length;
  const max = Math.min(W0.rows, W0.cols);
  if (r === 0 || r > max) {
    throw new WorkbenchError('FAMILY_TENSORS_INVALID', `LoLDU: vector_z has ${r} entries; the base weight allows 1..${max}`, {
      details: { rank: r, max },
    });
  }
  const { perm, L, D, U } = luSteps(W0, r);
  const m = W0.rows;
  const B = new Float64Array(m * r);
  // (P·L)[perm[i], :] = L[i, :]
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < r; j++) B[perm[i]! * r + j] = scale * L.data[i * L.cols + j]! * (z[j]! - D[j]!);
  }
  return { B: { rows: m, cols: r, data: B }, A: { rows: r, cols: W0.cols, data: U.data.slice(0, r * W0.cols) } };
}

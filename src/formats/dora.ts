// DoRA → LoRA (algorithms.md §5.7, A21). With the base weight W0 the effective delta is
// ΔW_eff = diag(g)·(W0 + s·B·A) − W0, g = magnitude ⊘ ‖W0 + s·B·A‖_row: generally full rank, so it is
// applied as an operator (rows formed one at a time, never the m×n sum) and truncated by randomized SVD.
// Without W0 a DoRA module stays a LoRA plus its magnitude vector (ModuleFactors.doraMagnitude).
import { WorkbenchError } from '../errors.ts';
import type { LinearOperator } from '../linalg/operator.ts';
import { matmul, zeros, type Mat } from '../tensor/matrix.ts';
import { truncateOperator, type OperatorTruncateOptions, type OperatorTruncation } from './truncate-operator.ts';

export interface DoraDelta {
  readonly operator: LinearOperator;
  /** g = magnitude ⊘ row norms of W0 + s·B·A. */
  readonly gain: Float64Array;
  /** ‖ΔW_eff‖_F, exact. */
  readonly norm: number;
  /** max_i |g_i − 1|: how far the cheap B' = diag(g)·s·B approximation is from valid. */
  readonly maxGainDeviation: number;
}

export function doraEffectiveDelta(W0: Mat, B: Mat, A: Mat, scale: number, magnitude: Float64Array): DoraDelta {
  const m = W0.rows;
  const n = W0.cols;
  const r = A.rows;
  if (B.rows !== m || A.cols !== n || B.cols !== r || magnitude.length !== m) {
    throw new WorkbenchError('FAMILY_TENSORS_INVALID', `DoRA shapes disagree: W0 ${m}×${n}, B ${B.rows}×${B.cols}, A ${A.rows}×${A.cols}, magnitude ${magnitude.length}`, {
      details: { W0: [m, n], B: [B.rows, B.cols], A: [A.rows, A.cols], magnitude: magnitude.length },
    });
  }
  const gain = new Float64Array(m);
  const row = new Float64Array(n);
  let normSq = 0;
  let maxGainDeviation = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) row[j] = W0.data[i * n + j]!;
    for (let p = 0; p < r; p++) {
      const b = scale * B.data[i * r + p]!;
      if (b !== 0) for (let j = 0; j < n; j++) row[j]! += b * A.data[p * n + j]!;
    }
    let rn = 0;
    for (let j = 0; j < n; j++) rn += row[j]! * row[j]!;
    rn = Math.sqrt(rn);
    const g = rn > 0 ? magnitude[i]! / rn : 1;
    gain[i] = g;
    maxGainDeviation = Math.max(maxGainDeviation, Math.abs(g - 1));
    for (let j = 0; j < n; j++) {
      const d = g * row[j]! - W0.data[i * n + j]!;
      normSq += d * d;
    }
  }
  const sB = { rows: m, cols: r, data: B.data.map((v) => v * scale) };
  const operator: LinearOperator = {
    rows: m,
    cols: n,
    async apply(X: Mat): Promise<Mat> {
      const w = matmul(W0, X);
      const l = matmul(sB, matmul(A, X));
      const out = zeros(m, X.cols);
      for (let i = 0; i < m; i++) {
        for (let c = 0; c < X.cols; c++) {
          const k = i * X.cols + c;
          out.data[k] = gain[i]! * (w.data[k]! + l.data[k]!) - w.data[k]!;
        }
      }
      return out;
    },
    async applyTranspose(Y: Mat): Promise<Mat> {
      // ΔW_effᵀ·Y = W0ᵀ·((g − 1) ⊙ Y) + Aᵀ·sBᵀ·(g ⊙ Y)
      const gy = zeros(m, Y.cols);
      const g1y = zeros(m, Y.cols);
      for (let i = 0; i < m; i++) {
        for (let c = 0; c < Y.cols; c++) {
          const k = i * Y.cols + c;
          gy.data[k] = gain[i]! * Y.data[k]!;
          g1y.data[k] = (gain[i]! - 1) * Y.data[k]!;
        }
      }
      const out = zeros(n, Y.cols);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          const w = W0.data[i * n + j]!;
          if (w !== 0) for (let c = 0; c < Y.cols; c++) out.data[j * Y.cols + c]! += w * g1y.data[i * Y.cols + c]!;
        }
      }
      const t = zeros(r, Y.cols);
      for (let i = 0; i < m; i++) {
        for (let p = 0; p < r; p++) {
          const b = sB.data[i * r + p]!;
          if (b !== 0) for (let c = 0; c < Y.cols; c++) t.data[p * Y.cols + c]! += b * gy.data[i * Y.cols + c]!;
        }
      }
      for (let p = 0; p < r; p++) {
        for (let j = 0; j < n; j++) {
          const a = A.data[p * n + j]!;
          if (a !== 0) for (let c = 0; c < Y.cols; c++) out.data[j * Y.cols + c]! += a * t.data[p * Y.cols + c]!;
        }
      }
      return out;
    },
  };
  return { operator, gain, norm: Math.sqrt(normSq), maxGainDeviation };
}

/** The effective DoRA delta as a truncated LoRA pair, with the relative Frobenius error it costs. */
export async function doraToLora(
  W0: Mat,
  B: Mat,
  A: Mat,
  scale: number,
  magnitude: Float64Array,
  options: OperatorTruncateOptions,
): Promise<OperatorTruncation & { readonly norm: number; readonly maxGainDeviation: number }> {
  const delta = doraEffectiveDelta(W0, B, A, scale, magnitude);
  const t = await truncateOperator(delta.operator, delta.norm, options);
  return { ...t, norm: delta.norm, maxGainDeviation: delta.maxGainDeviation };
}

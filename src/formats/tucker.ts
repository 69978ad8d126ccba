// Tucker-core factors of LoHa (hada_t1/hada_t2) and LoKr (lokr_t2), LyCORIS `use_tucker` / PEFT
// `use_effective_conv2d` (algorithms.md §5.2): with core t (r, r, kh, kw), 1-mode factor wa (r, p) and 2-mode
// factor wb (r, q), LyCORIS/PEFT/ComfyUI rebuild W[p, q, k, l] = Σ_{i,j} t[i, j, k, l]·wb[j, q]·wa[i, p]
// (einsum "i j k l, j r, i p -> p r k l"). Flattened to p × (q·kh·kw) in PyTorch's (in, kh, kw) order,
// W = waᵀ · M with M[i, q·K + κ] = Σ_j t[i, j, κ]: a rank-≤r product, so no p×q×K tensor is needed
// beyond the r × q·K matrix M.
import { transpose, type Mat } from '../tensor/matrix.ts';
import { familyError, floatShape, readMat } from './family-module.ts';
import type { TensorSource } from '../safetensors/reader.ts';

export interface TuckerShape {
  readonly rank: number;
  /** Rows of the rebuilt weight (wa.shape[1]). */
  readonly rows: number;
  /** in features before the kernel (wb.shape[1]). */
  readonly inFeatures: number;
  readonly kernel: readonly number[];
}

/** Checks the core (r, r, ...kernel), wa (r, rows) and wb (r, in) against each other. */
export function tuckerShape(source: TensorSource, file: string, module: string, keys: { t: string; wa: string; wb: string }): TuckerShape {
  const st = floatShape(source, keys.t, file, module, 3, 5);
  const sa = floatShape(source, keys.wa, file, module, 2, 2);
  const sb = floatShape(source, keys.wb, file, module, 2, 2);
  const r = st[0]!;
  if (st[1] !== r || sa[0] !== r || sb[0] !== r) {
    throw familyError(
      file,
      module,
      `Tucker factor shapes disagree: core "${keys.t}" [${st.join(', ')}] needs (r, r, kh, kw), "${keys.wa}" [${sa.join(', ')}] and "${keys.wb}" [${sb.join(', ')}] need r rows (r = ${r})`,
      { shapes: { t: st, wa: sa, wb: sb } },
    );
  }
  return { rank: r, rows: sa[1]!, inFeatures: sb[1]!, kernel: st.slice(2) };
}

/**
 * The rebuilt weight as a product B (rows × r) · A (r × in·K), both exact: B = waᵀ,
 * A[i, q·K + κ] = Σ_j t[i, j, κ]·wb[j, q].
 */
export function tuckerFactors(t: Float64Array, shape: TuckerShape, wa: Mat, wb: Mat): { B: Mat; A: Mat } {
  const r = shape.rank;
  const q = shape.inFeatures;
  const K = shape.kernel.reduce((x, y) => x * y, 1);
  const cols = q * K;
  const data = new Float64Array(r * cols);
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < r; j++) {
      const core = (i * r + j) * K;
      for (let c = 0; c < q; c++) {
        const w = wb.data[j * q + c]!;
        if (w === 0) continue;
        const out = i * cols + c * K;
        for (let k = 0; k < K; k++) data[out + k] = data[out + k]! + t[core + k]! * w;
      }
    }
  }
  return { B: transpose(wa), A: { rows: r, cols, data } };
}

/** Reads core and factors and returns the rank-≤r pair of the rebuilt (rows × in·K) weight. */
export async function readTucker(source: TensorSource, keys: { t: string; wa: string; wb: string }, shape: TuckerShape): Promise<{ B: Mat; A: Mat }> {
  const [t, wa, wb] = await Promise.all([source.readFloat64(keys.t), readMat(source, keys.wa), readMat(source, keys.wb)]);
  return tuckerFactors(t, shape, wa, wb);
}

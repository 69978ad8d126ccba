// Splits a module's factors into MSUs with stable ids, the scale folded in as √s
// on both sides (algorithms.md §0.2) and the per-adapter weight folded into b
// before canonicalisation (§1.5), so a negative weight flips the rank-one term.
import type { Mat } from '../tensor/matrix.ts';
import type { MsuFeature, MsuId, MsuPool } from './msu.ts';
import { canonicalizeUnit } from './canonicalize-unit.ts';

export interface UnitSource {
  readonly adapterIndex: number;
  readonly adapterName: string;
  /** m×r */
  readonly B: Mat;
  /** r×n */
  readonly A: Mat;
  readonly scale: number;
  readonly weight: number;
}

export interface DecomposeOptions {
  /**
   * "canonical" (default) fixes the gauge; "raw" keeps the √s-folded factors. The pool always
   * reproduces ΔW exactly; "normalizedParts" is only a clustering feature, which LoRA-LEGO
   * computes from a raw pool (normalizeParts), so here it behaves like "raw".
   */
  readonly feature: MsuFeature;
  /** Drop units with b = 0 or a = 0 (default true). */
  readonly dropZero: boolean;
  /**
   * Storage for the pool's B and A data (default: fresh arrays); must return `length` zeros.
   * Lets a caller that only reads the pool briefly recycle it (LoRA-LEGO, src/merge/kernels/output-pool.ts).
   */
  readonly allocate?: (length: number) => Float64Array;
}

/**
 * The unit b's before the transpose: kept between calls (first-touching fresh memory costs
 * ~2–4 ms per MB on the shared hosts, bench/merge). Never escapes a call.
 */
let bWork = new Float64Array(0);

/** Pools the units of several adapters' copies of one module, in input order then rank index. */
export function decomposeModule(module: string, sources: readonly UnitSource[], options: DecomposeOptions): MsuPool {
  const m = sources[0]?.B.rows ?? 0;
  const n = sources[0]?.A.cols ?? 0;
  const total = sources.reduce((acc, src) => acc + src.A.rows, 0);
  // Unit b's as rows of one buffer (then transposed once into B), a's straight into A's rows.
  // Every slot up to the last kept unit is written before it is read, so bWork needs no clearing.
  if (bWork.length < total * m) bWork = new Float64Array(Math.max(total * m, Math.ceil(bWork.length * 1.5)));
  const bRows = bWork;
  const alloc = options.allocate ?? ((length: number) => new Float64Array(length));
  const aRows = alloc(total * n);
  const ids: MsuId[] = [];
  for (const src of sources) {
    const r = src.A.rows;
    const root = Math.sqrt(Math.abs(src.scale));
    const signScale = Math.sign(src.scale) || 1;
    const bData = src.B.data;
    const aData = src.A.data;
    const fb = root * signScale * src.weight;
    for (let i = 0; i < r; i++) {
      const p = ids.length;
      const b = bRows.subarray(p * m, (p + 1) * m);
      const a = aRows.subarray(p * n, (p + 1) * n);
      let bz = true;
      for (let row = 0; row < m; row++) {
        const v = bData[row * r + i]! * fb;
        b[row] = v;
        if (v !== 0) bz = false;
      }
      let az = true;
      for (let col = 0; col < n; col++) {
        const v = aData[i * n + col]! * root;
        a[col] = v;
        if (v !== 0) az = false;
      }
      if ((bz || az) && options.dropZero) continue; // the slot is reused by the next unit
      if (options.feature === 'canonical') canonicalizeUnit(b, a);
      ids.push({ adapterIndex: src.adapterIndex, adapterName: src.adapterName, module, rankIndex: i });
    }
  }
  const p = ids.length;
  const B = { rows: m, cols: p, data: alloc(m * p) };
  // Blocked transpose of the unit b's into row-major B (a block of rows stays in cache).
  for (let r0 = 0; r0 < m; r0 += 256) {
    const r1 = Math.min(m, r0 + 256);
    for (let j = 0; j < p; j++) {
      const o = j * m;
      for (let row = r0; row < r1; row++) B.data[row * p + j] = bRows[o + row]!;
    }
  }
  const A = p === total ? { rows: p, cols: n, data: aRows } : { rows: p, cols: n, data: aRows.slice(0, p * n) };
  return { module, feature: options.feature, ids, B, A };
}

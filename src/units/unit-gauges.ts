// The units of a module's inputs as scalars on the raw factors, without forming them: unit i of
// input t is b = gaugeB·(foldB·B_t[:, i]) and a = gaugeA·(foldA·A_t[i, :]). The fold is what
// decomposeModule applies (√s on both sides, the weight and the sign of s on b; algorithms.md §0.2,
// §1.5); the gauge is canonicalizeUnit's (balanced norms, largest-|·| entry of a positive, §1.3) for
// the canonical feature, and 1 for raw. Without `squaredNorms` each unit is read once, O(m + n), in
// the order and arithmetic of decomposeModule + canonicalizeUnit, so everything agrees bit for bit;
// with the raw factors' squared norms given (the diagonals of the inputs' Grams), only the a's are
// read, for the sign rule (and the b's too for `maxAbs`), and the norms agree to rounding.
import type { Mat } from '../tensor/matrix.ts';
import type { MsuFeature, MsuId } from './msu.ts';
import type { UnitSource } from './decompose-module.ts';
import { DOMINANT_MARGIN } from './canonicalize-unit.ts';

export interface UnitGauge {
  readonly id: MsuId;
  /** Position of the unit's input in `sources`. */
  readonly source: number;
  /** Column of B / row of A in that input. */
  readonly rankIndex: number;
  readonly foldB: number;
  readonly foldA: number;
  readonly gaugeB: number;
  readonly gaugeA: number;
  /** ‖b‖ and ‖a‖ of the unit as represented (after the gauge). */
  readonly normB: number;
  readonly normA: number;
  /** max |b_j| and max |a_j| of the unit as represented (NaN unless computed: `maxAbs` or no `squaredNorms`). */
  readonly maxAbsB: number;
  readonly maxAbsA: number;
  /** ‖foldB·B_t[:, i]‖ and ‖foldA·A_t[i, :]‖, before the gauge (the raw unit's norms). */
  readonly rawNormB: number;
  readonly rawNormA: number;
}

export interface UnitGaugeOptions {
  /** "canonical" fixes the gauge; "raw" and "normalizedParts" keep the folded factors (gauge 1). */
  readonly feature: MsuFeature;
  /** Leave out units with b = 0 or a = 0 (as decomposeModule's dropZero). */
  readonly dropZero: boolean;
  /**
   * ‖B_t[:, i]‖² and ‖A_t[i, :]‖² of the raw factors, indexed by the unit's position over all sources
   * (input order, then rank index): spares the pass over the b's.
   */
  readonly squaredNorms?: { readonly B: ArrayLike<number>; readonly A: ArrayLike<number> };
  /** Compute maxAbsB / maxAbsA even when squaredNorms are given. */
  readonly maxAbs?: boolean;
}


/** Whether column i of row-major m×r data is all zeros. */
function zeroColumn(data: Float64Array, m: number, r: number, i: number): boolean {
  for (let row = 0; row < m; row++) if (data[row * r + i] !== 0) return false;
  return true;
}

/** The gauges of every unit of one module's inputs, in input order then rank index. */
export function unitGauges(module: string, sources: readonly UnitSource[], options: UnitGaugeOptions): UnitGauge[] {
  const units: UnitGauge[] = [];
  const given = options.squaredNorms;
  const maxAbs = options.maxAbs === true || given === undefined;
  const canonical = options.feature === 'canonical';
  let position = 0;
  sources.forEach((src, s) => {
    const r = src.A.rows;
    const m = src.B.rows;
    const n = src.A.cols;
    const root = Math.sqrt(Math.abs(src.scale));
    const signScale = Math.sign(src.scale) || 1;
    const fb = root * signScale * src.weight;
    const first = position;
    position += r;
    const bData = src.B.data;
    const aData = src.A.data;
    // B is row-major m×r: one sweep gathers every column's sum of squares (row order, as a column pass would).
    const sqB = new Float64Array(r);
    const maxB = new Float64Array(r).fill(NaN);
    if (given) {
      for (let i = 0; i < r; i++) sqB[i] = given.B[first + i]! * fb * fb;
    }
    if (maxAbs) {
      maxB.fill(0);
      for (let row = 0; row < m; row++) {
        const o = row * r;
        for (let i = 0; i < r; i++) {
          const v = bData[o + i]! * fb;
          if (!given) sqB[i]! += v * v;
          const x = Math.abs(v);
          if (x > maxB[i]!) maxB[i] = x;
        }
      }
    }
    for (let i = 0; i < r; i++) {
      let sqA = given ? given.A[first + i]! * root * root : 0;
      let maxA = maxAbs ? 0 : NaN;
      let dominant = 0;
      const o = i * n;
      // canonicalizeUnit's rule: an entry displaces the dominant one when |a_j| > dominant·(1 + margin).
      let threshold = -1 * (1 + DOMINANT_MARGIN);
      if (!given || maxAbs) {
        for (let col = 0; col < n; col++) {
          const v = aData[o + col]! * root;
          const x = Math.abs(v);
          if (!given) sqA += v * v;
          if (x > maxA) maxA = x;
          if (x > threshold) {
            threshold = x * (1 + DOMINANT_MARGIN);
            dominant = col;
          }
        }
      } else if (canonical) {
        // Only the sign rule: the hot loop of LoRA-LEGO's per-module pass.
        for (let col = 0; col < n; col++) {
          const x = Math.abs(aData[o + col]! * root);
          if (x > threshold) {
            threshold = x * (1 + DOMINANT_MARGIN);
            dominant = col;
          }
        }
      }
      // A zero part has every entry 0 (squares of tiny entries may underflow; check before dropping).
      const zeroB = maxAbs ? maxB[i] === 0 : sqB[i] === 0 && (fb === 0 || zeroColumn(bData, m, r, i));
      const zeroA = maxAbs ? maxA === 0 : sqA === 0 && (root === 0 || zeroColumn(aData.subarray(o, o + n), n, 1, 0));
      if ((zeroB || zeroA) && options.dropZero) continue;
      const nb = Math.sqrt(sqB[i]!);
      const na = Math.sqrt(sqA);
      let gaugeB = 1;
      let gaugeA = 1;
      if (canonical && nb !== 0 && na !== 0) {
        const rho = Math.sqrt(nb / na);
        const sign = aData[o + dominant]! * root < 0 ? -1 : 1;
        gaugeB = sign / rho;
        gaugeA = sign * rho;
      }
      units.push({
        id: { adapterIndex: src.adapterIndex, adapterName: src.adapterName, module, rankIndex: i },
        source: s,
        rankIndex: i,
        foldB: fb,
        foldA: root,
        gaugeB,
        gaugeA,
        normB: nb * Math.abs(gaugeB),
        normA: na * Math.abs(gaugeA),
        maxAbsB: maxB[i]! * Math.abs(gaugeB),
        maxAbsA: maxA * Math.abs(gaugeA),
        rawNormB: nb,
        rawNormA: na,
      });
    }
  });
  return units;
}

/** Entry t of the unit's [b; a] as decomposeModule (+ canonicalizeUnit) would store it. */
export function unitEntry(unit: UnitGauge, B: Mat, A: Mat, t: number): number {
  const m = B.rows;
  return t < m
    ? B.data[t * B.cols + unit.rankIndex]! * unit.foldB * unit.gaugeB
    : A.data[unit.rankIndex * A.cols + (t - m)]! * unit.foldA * unit.gaugeA;
}

// One LoKr module (PEFT or LyCORIS naming): ΔW = scale·kron(W1, W2), converted through the two small
// SVDs (algorithms.md §5.2, A15). Every product σ1_i·σ2_j is kept, so the LoRA form is exact with rank
// min(a,c)·min(b,d) (a Tucker W2, lokr_t2 (r, r, kh, kw) with lokr_w2_a (r, b), lokr_w2_b (r, d), is rebuilt
// by tucker.ts and has rank ≤ r, so min(a,c)·min(b, d·kh·kw, r)); truncateModule (truncate-module.ts) cuts it to a rank or energy with the error reported.
import type { Layout, LoraModule } from '../adapter/types.ts';
import type { TensorSource } from '../safetensors/reader.ts';
import { matmul, type Mat } from '../tensor/matrix.ts';
import { familyError, familyModule, floatShape, readMat, unsupported } from './family-module.ts';
import { readTucker, tuckerShape } from './tucker.ts';
import { kroneckerToLora } from './kronecker-svd.ts';

export interface LokrKeys {
  readonly w1?: string;
  readonly w1a?: string;
  readonly w1b?: string;
  readonly w2?: string;
  readonly w2a?: string;
  readonly w2b?: string;
  readonly t2?: string;
  readonly alpha?: string;
}

export interface LokrSpec {
  readonly source: TensorSource;
  readonly file: string;
  readonly name: string;
  readonly keys: LokrKeys;
  /** dim = w2_b.shape[0] if W2 is decomposed, else w1_b.shape[0] if W1 is, else undefined (both full). */
  readonly scaleFor: (dim: number | undefined) => { scale: number; alpha: number | null };
  readonly naming: 'peft' | 'lycoris';
}

interface Factor {
  readonly rows: number;
  readonly cols: number;
  /** Trailing kernel dims (W2 of a conv LoKr stored whole). */
  readonly kernel?: readonly number[];
  readonly decomposedRank?: number;
  /** Set for a Tucker W2: its rank is at most this (the core's r). */
  readonly tuckerRank?: number;
  readonly read: () => Promise<Mat>;
}

function factor(spec: LokrSpec, which: 1 | 2): Factor {
  const { source, file, name, keys } = spec;
  const full = which === 1 ? keys.w1 : keys.w2;
  const a = which === 1 ? keys.w1a : keys.w2a;
  const b = which === 1 ? keys.w1b : keys.w2b;
  if (which === 2 && keys.t2 !== undefined) {
    if (full !== undefined || a === undefined || b === undefined) {
      throw familyError(file, name, `LoKr Tucker core "${keys.t2}" needs "lokr_w2_a" (r, b) and "lokr_w2_b" (r, d) and no whole "lokr_w2"`, {
        tensor: keys.t2,
        missing: a === undefined ? 'lokr_w2_a' : b === undefined ? 'lokr_w2_b' : undefined,
      });
    }
    const tk = { t: keys.t2, wa: a, wb: b };
    const ts = tuckerShape(source, file, name, tk);
    return {
      rows: ts.rows,
      cols: ts.inFeatures * ts.kernel.reduce((x, y) => x * y, 1),
      kernel: ts.kernel,
      decomposedRank: ts.rank,
      tuckerRank: ts.rank,
      read: async () => {
        const f = await readTucker(source, tk, ts);
        return matmul(f.B, f.A);
      },
    };
  }
  if (full !== undefined) {
    const s = floatShape(source, full, file, name, 2, 5);
    const kernel = s.length > 2 ? s.slice(2) : undefined;
    return { rows: s[0]!, cols: s.slice(1).reduce((x, y) => x * y, 1), ...(kernel ? { kernel } : {}), read: () => readMat(source, full) };
  }
  if (a === undefined || b === undefined) {
    throw familyError(file, name, `LoKr W${which} needs "lokr_w${which}" or both "lokr_w${which}_a" and "lokr_w${which}_b"; found ${a ?? b ?? 'neither'}`, {
      missing: a === undefined ? `lokr_w${which}_a` : `lokr_w${which}_b`,
    });
  }
  const sa = floatShape(source, a, file, name, 2, 2);
  const sb = floatShape(source, b, file, name, 2, 2);
  if (sa[1] !== sb[0]) {
    throw familyError(file, name, `LoKr "${a}" [${sa.join(', ')}] and "${b}" [${sb.join(', ')}] disagree on the rank`, { shapeA: sa, shapeB: sb });
  }
  return {
    rows: sa[0]!,
    cols: sb[1]!,
    decomposedRank: sb[0]!,
    read: async () => matmul(await readMat(source, a), await readMat(source, b)),
  };
}

export function lokrModule(spec: LokrSpec): LoraModule {
  const { source, file, name, keys } = spec;
  const f1 = factor(spec, 1);
  const f2 = factor(spec, 2);
  if (f1.kernel !== undefined) {
    throw unsupported(file, name, `LoKr W1 "${keys.w1}" has a kernel; only W2 may carry the conv kernel`, { tensor: keys.w1 });
  }
  const dim = f2.decomposedRank ?? f1.decomposedRank;
  const { scale, alpha } = spec.scaleFor(dim);
  // A Tucker W2 has rank ≤ r, so only min(a,c)·r products of the Kronecker SVD can be non-zero.
  const rank = Math.min(f1.rows, f1.cols) * Math.min(f2.rows, f2.cols, f2.tuckerRank ?? Infinity);
  const layout: Layout = f2.kernel ? { kind: 'conv', kernel: f2.kernel } : { kind: 'linear' };
  const keyOf = (k: string | undefined, fallback: string | undefined): string => (k ?? fallback)!;
  const fam = { name: 'lokr', conversion: 'exact' as const, relativeError: 0 };
  return familyModule({
    name,
    outFeatures: f1.rows * f2.rows,
    inFeatures: f1.cols * f2.cols,
    rank,
    scale,
    layout,
    dtype: source.info(keyOf(keys.w1, keys.w1a)).dtype,
    keys: { A: keyOf(keys.w2, keys.w2b), B: keyOf(keys.w1, keys.w1a), ...(keys.alpha ? { alpha: keys.alpha } : {}) },
    family: {
      ...fam,
      params: {
        naming: spec.naming,
        w1: [f1.rows, f1.cols],
        w2: [f2.rows, f2.cols],
        w1Rank: f1.decomposedRank ?? null,
        w2Rank: f2.decomposedRank ?? null,
        ...(f2.tuckerRank !== undefined ? { tucker: true } : {}),
        alpha,
        scale,
      },
    },
    factors: async () => {
      const [W1, W2] = await Promise.all([f1.read(), f2.read()]);
      const k = kroneckerToLora(W1, W2, f2.tuckerRank !== undefined ? { rank } : {});
      return { B: k.B, A: k.A };
    },
    native: async () => {
      const [W1, W2] = await Promise.all([f1.read(), f2.read()]);
      return { kind: 'lokr', W1, W2, scale };
    },
  });
}

// One LoHa module (PEFT or LyCORIS naming) as an exact LoRA of rank r1·r2 (algorithms.md §5.2, A14).
// With Tucker cores (hada_t1, hada_t2) each rebuilt W_k is still a rank-r_k product (tucker.ts), so the same
// face-splitting form applies, with the conv layout and A in PyTorch's (in, kh, kw) column order.
import type { Layout, LoraModule } from '../adapter/types.ts';
import type { TensorSource } from '../safetensors/reader.ts';
import type { Mat } from '../tensor/matrix.ts';
import { lohaToLora } from './face-splitting.ts';
import { familyError, familyModule, floatShape, readMat } from './family-module.ts';
import { readTucker, tuckerShape } from './tucker.ts';

export interface LohaKeys {
  readonly w1a: string;
  readonly w1b: string;
  readonly w2a: string;
  readonly w2b: string;
  readonly t1?: string;
  readonly t2?: string;
  readonly alpha?: string;
}

export interface LohaSpec {
  readonly source: TensorSource;
  readonly file: string;
  readonly name: string;
  readonly keys: LohaKeys;
  /** Scale from the rank r1 = hada_w1_b.shape[0] (LyCORIS: alpha / r1; PEFT: alpha / r from the config). */
  readonly scaleFor: (r1: number) => { scale: number; alpha: number | null };
  readonly naming: 'peft' | 'lycoris';
}

export function lohaModule(spec: LohaSpec): LoraModule {
  const { source, file, name, keys } = spec;
  if (keys.t1 !== undefined || keys.t2 !== undefined) return tuckerLohaModule(spec);
  const s1a = floatShape(source, keys.w1a, file, name, 2, 2);
  const s1b = floatShape(source, keys.w1b, file, name, 2, 5);
  const s2a = floatShape(source, keys.w2a, file, name, 2, 2);
  const s2b = floatShape(source, keys.w2b, file, name, 2, 5);
  const m = s1a[0]!;
  const r1 = s1a[1]!;
  const r2 = s2a[1]!;
  const n = s1b.slice(1).reduce((a, b) => a * b, 1);
  const n2 = s2b.slice(1).reduce((a, b) => a * b, 1);
  if (s1b[0] !== r1 || s2b[0] !== r2 || s2a[0] !== m || n2 !== n) {
    throw familyError(
      file,
      name,
      `LoHa factor shapes disagree: hada_w1_a [${s1a.join(', ')}], hada_w1_b [${s1b.join(', ')}], hada_w2_a [${s2a.join(', ')}], hada_w2_b [${s2b.join(', ')}]`,
      { shapes: { w1a: s1a, w1b: s1b, w2a: s2a, w2b: s2b } },
    );
  }
  const kernel = s1b.length > 2 ? s1b.slice(2) : undefined;
  const layout: Layout = kernel ? { kind: 'conv', kernel } : { kind: 'linear' };
  const { scale, alpha } = spec.scaleFor(r1);
  return familyModule({
    name,
    outFeatures: m,
    inFeatures: n,
    rank: r1 * r2,
    scale,
    layout,
    dtype: source.info(keys.w1a).dtype,
    keys: { A: keys.w1b, B: keys.w1a, ...(keys.alpha ? { alpha: keys.alpha } : {}) },
    family: { name: 'loha', params: { naming: spec.naming, r1, r2, alpha, scale }, conversion: 'exact', relativeError: 0 },
    factors: async () => {
      const [w1a, w1b, w2a, w2b] = await Promise.all([readMat(source, keys.w1a), readMat(source, keys.w1b), readMat(source, keys.w2a), readMat(source, keys.w2b)]);
      return lohaToLora(w1a, w1b, w2a, w2b);
    },
    native: async () => {
      const [w1a, w1b, w2a, w2b] = await Promise.all([readMat(source, keys.w1a), readMat(source, keys.w1b), readMat(source, keys.w2a), readMat(source, keys.w2b)]);
      return { kind: 'loha', w1a, w1b, w2a, w2b, scale };
    },
  });
}

/** LoHa with Tucker cores: hada_t1/t2 (r, r, kh, kw), hada_w*_a (r, out), hada_w*_b (r, in). */
function tuckerLohaModule(spec: LohaSpec): LoraModule {
  const { source, file, name, keys } = spec;
  const missing = keys.t1 === undefined ? 'hada_t1' : keys.t2 === undefined ? 'hada_t2' : undefined;
  if (missing !== undefined) {
    throw familyError(file, name, `has Tucker core "${keys.t1 ?? keys.t2}" but no ${missing}; LoHa Tucker needs both cores`, { missing });
  }
  const k1 = { t: keys.t1!, wa: keys.w1a, wb: keys.w1b };
  const k2 = { t: keys.t2!, wa: keys.w2a, wb: keys.w2b };
  const s1 = tuckerShape(source, file, name, k1);
  const s2 = tuckerShape(source, file, name, k2);
  if (s1.rows !== s2.rows || s1.inFeatures !== s2.inFeatures || s1.kernel.join(',') !== s2.kernel.join(',')) {
    throw familyError(
      file,
      name,
      `LoHa Tucker halves disagree: W1 is [${s1.rows}, ${s1.inFeatures}, ${s1.kernel.join(', ')}], W2 is [${s2.rows}, ${s2.inFeatures}, ${s2.kernel.join(', ')}]`,
      { w1: [s1.rows, s1.inFeatures, ...s1.kernel], w2: [s2.rows, s2.inFeatures, ...s2.kernel] },
    );
  }
  const r1 = s1.rank;
  const r2 = s2.rank;
  const n = s1.inFeatures * s1.kernel.reduce((a, b) => a * b, 1);
  const { scale, alpha } = spec.scaleFor(r1);
  const halves = async (): Promise<[{ B: Mat; A: Mat }, { B: Mat; A: Mat }]> => Promise.all([readTucker(source, k1, s1), readTucker(source, k2, s2)]);
  return familyModule({
    name,
    outFeatures: s1.rows,
    inFeatures: n,
    rank: r1 * r2,
    scale,
    layout: { kind: 'conv', kernel: s1.kernel },
    dtype: source.info(keys.w1a).dtype,
    keys: { A: keys.w1b, B: keys.w1a, ...(keys.alpha ? { alpha: keys.alpha } : {}) },
    family: { name: 'loha', params: { naming: spec.naming, r1, r2, alpha, scale, tucker: true }, conversion: 'exact', relativeError: 0 },
    factors: async () => {
      const [h1, h2] = await halves();
      return lohaToLora(h1.B, h1.A, h2.B, h2.A);
    },
    native: async () => {
      const [h1, h2] = await halves();
      return { kind: 'loha', w1a: h1.B, w1b: h1.A, w2a: h2.B, w2b: h2.A, scale };
    },
  });
}

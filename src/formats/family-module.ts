// Shared by the family importers: read small matrices from a TensorSource with shape checks, and
// build a LoraModule whose exact (or truncated) LoRA factors are computed on load().
import { WorkbenchError } from '../errors.ts';
import type { DType } from '../dtype.ts';
import { FACTOR_DTYPES } from '../adapter/lazy-module.ts';
import type { Layout, LoraModule, ModuleFactors } from '../adapter/types.ts';
import type { TensorSource } from '../safetensors/reader.ts';
import type { Mat } from '../tensor/matrix.ts';

export type FamilyInfo = NonNullable<LoraModule['family']>;

export interface FamilyModuleSpec {
  readonly name: string;
  readonly outFeatures: number;
  readonly inFeatures: number;
  /** Rank of the LoRA form load() returns. */
  readonly rank: number;
  readonly scale: number;
  readonly layout: Layout;
  readonly dtype: DType;
  readonly keys: { readonly A: string; readonly B: string; readonly alpha?: string };
  readonly family: FamilyInfo;
  readonly factors: () => Promise<ModuleFactors>;
  /** The module's own factors (for exact export back to its family). */
  readonly native?: () => Promise<NativeFactors>;
}

/** A module's factors in its family's own terms, scale NOT folded in. */
export type NativeFactors =
  | { readonly kind: 'loha'; readonly w1a: Mat; readonly w1b: Mat; readonly w2a: Mat; readonly w2b: Mat; readonly scale: number }
  | { readonly kind: 'lokr'; readonly W1: Mat; readonly W2: Mat; readonly scale: number };

const natives = new WeakMap<LoraModule, () => Promise<NativeFactors>>();

/** The family-native factors of a module built here, or undefined for any other module. */
export function nativeFactors(module: LoraModule): (() => Promise<NativeFactors>) | undefined {
  return natives.get(module);
}

/** alpha is recorded as scale·rank so that the usual alpha/rank rule gives the scale of the LoRA form. */
export function familyModule(spec: FamilyModuleSpec): LoraModule {
  const module: LoraModule = {
    name: spec.name,
    outFeatures: spec.outFeatures,
    inFeatures: spec.inFeatures,
    rank: spec.rank,
    alpha: spec.scale * spec.rank,
    scale: spec.scale,
    layout: spec.layout,
    dtype: spec.dtype,
    hasDora: false,
    keys: spec.keys,
    family: spec.family,
    load: spec.factors,
  };
  if (spec.native) natives.set(module, spec.native);
  return module;
}

export function familyError(file: string, module: string, why: string, details: Record<string, unknown> = {}): WorkbenchError {
  return new WorkbenchError('FAMILY_TENSORS_INVALID', `${file}: module "${module}": ${why}`, { details: { file, module, ...details } });
}

export function unsupported(file: string, module: string, why: string, details: Record<string, unknown> = {}): WorkbenchError {
  return new WorkbenchError('FAMILY_UNSUPPORTED', `${file}: module "${module}": ${why}`, { details: { file, module, ...details }, permanent: true });
}

/** Shape of a float tensor, checked: dtype a float factor dtype, rank of the shape within [minDims, maxDims]. */
export function floatShape(source: TensorSource, key: string, file: string, module: string, minDims: number, maxDims: number): readonly number[] {
  const info = source.info(key);
  if (!FACTOR_DTYPES.includes(info.dtype)) {
    throw familyError(file, module, `"${key}" is stored as ${info.dtype}; only ${FACTOR_DTYPES.join(', ')} can be used`, { tensor: key, dtype: info.dtype });
  }
  if (info.shape.length < minDims || info.shape.length > maxDims || info.shape.some((d) => d === 0)) {
    throw familyError(file, module, `"${key}" has shape [${info.shape.join(', ')}]; expected ${minDims === maxDims ? minDims : `${minDims} to ${maxDims}`} non-empty dims`, {
      tensor: key,
      shape: info.shape,
    });
  }
  return info.shape;
}

/** Reads a tensor as a rows×cols matrix (trailing dims flattened into the columns). */
export async function readMat(source: TensorSource, key: string): Promise<Mat> {
  const shape = source.info(key).shape;
  const rows = shape[0] ?? 1;
  const cols = shape.slice(1).reduce((a, b) => a * b, 1);
  return { rows, cols, data: await source.readFloat64(key) };
}

/**
 * Module shapes for families whose files do not record in_features (MiSS, VeRA, RandLoRA): a JSON object
 * {module: [out, in]} under `awb_module_shapes` in the safetensors `__metadata__` or in the config.
 */
export const MODULE_SHAPES_KEY = 'awb_module_shapes';

export function moduleShapes(metadata: Readonly<Record<string, string>>, config: Readonly<Record<string, unknown>> | undefined, file: string): ReadonlyMap<string, readonly [number, number]> {
  const out = new Map<string, readonly [number, number]>();
  let raw: unknown = config?.[MODULE_SHAPES_KEY];
  if (raw === undefined && metadata[MODULE_SHAPES_KEY] !== undefined) {
    try {
      raw = JSON.parse(metadata[MODULE_SHAPES_KEY]);
    } catch {
      raw = null;
    }
  }
  if (raw === undefined) return out;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new WorkbenchError('FAMILY_TENSORS_INVALID', `${file}: "${MODULE_SHAPES_KEY}" must be a JSON object {module: [out, in]}`, { details: { file } });
  }
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
    if (!Array.isArray(v) || v.length !== 2 || !v.every((d) => Number.isInteger(d) && (d as number) > 0)) {
      throw new WorkbenchError('FAMILY_TENSORS_INVALID', `${file}: "${MODULE_SHAPES_KEY}" entry "${name}" must be [out, in] positive integers, got ${JSON.stringify(v)}`, {
        details: { file, module: name },
      });
    }
    out.set(name, [v[0] as number, v[1] as number]);
  }
  return out;
}

const FAMILY_PARAM_RE = /^(.+)\.(hada_w1_a|lokr_w1|lokr_w1_a)((?:\.[A-Za-z0-9_-]+)?)$/;

/**
 * True when some module has every tensor its LoHa (w1_a, w1_b, w2_a, w2_b) or LoKr (W1 and W2, each
 * whole or as an _a/_b pair) needs, in either naming (an adapter-name suffix is allowed).
 */
export function hasCompleteFamilyModule(all: ReadonlySet<string>, names: readonly string[]): boolean {
  for (const n of names) {
    const m = FAMILY_PARAM_RE.exec(n);
    if (!m) continue;
    const [, p, param, suffix] = m;
    const has = (x: string): boolean => all.has(`${p}.${x}${suffix}`);
    if (param === 'hada_w1_a' && has('hada_w1_b') && has('hada_w2_a') && has('hada_w2_b')) return true;
    if (param !== 'hada_w1_a') {
      const w1 = has('lokr_w1') || (has('lokr_w1_a') && has('lokr_w1_b'));
      const w2 = has('lokr_w2') || (has('lokr_w2_a') && has('lokr_w2_b'));
      if (w1 && w2) return true;
    }
  }
  return false;
}

// Matching adapter modules to base weights, and reading one base weight in canonical
// (m × n) orientation. The base is opened lazily: a tensor is read only when its
// module is analysed. Names tried, in order: the dotted path with ".weight", with and
// without "model." / "base_model.model." / first-segment prefixes, then an
// underscore-normalised suffix match (kohya "lora_unet_down_blocks_0_…" names, diffusers
// "unet." prefixes). Shapes are checked against the layout: Conv1D (fan_in_fan_out) and
// embedding bases are stored n×m and transposed; conv kernels are flattened.
import type { LoraModule } from '../adapter/types.ts';
import type { TensorSource } from '../safetensors/reader.ts';
import type { Mat } from '../tensor/matrix.ts';
import { sha256Bytes } from '../util/hash.ts';
import { decodeToFloat } from '../dtype.ts';

const PREFIXES = ['', 'model.', 'base_model.model.', 'base_model.model.model.', 'transformer.', 'model.model.'];
const KOHYA_PREFIXES = ['lora_unet_', 'lora_te1_', 'lora_te2_', 'lora_te_', 'lora_transformer_', 'unet_', 'text_encoder_', 'transformer_'];

export interface BaseIndex {
  readonly source: TensorSource;
  /** Underscore-normalised name (no ".weight") → tensor names. */
  readonly normalised: ReadonlyMap<string, readonly string[]>;
}

export function indexBase(source: TensorSource): BaseIndex {
  const normalised = new Map<string, string[]>();
  for (const name of source.tensors.keys()) {
    if (!name.endsWith('.weight')) continue;
    const key = name.slice(0, -'.weight'.length).replace(/\./g, '_');
    const list = normalised.get(key) ?? [];
    list.push(name);
    normalised.set(key, list);
  }
  return { source, normalised };
}

function stripped(name: string): string[] {
  const out = [name];
  let rest = name;
  for (let i = 0; i < 3 && rest.includes('.'); i++) {
    rest = rest.slice(rest.indexOf('.') + 1);
    out.push(rest);
  }
  return out;
}

/** The base tensor name for a module path, or undefined. */
export function findBaseTensor(index: BaseIndex, moduleName: string): string | undefined {
  for (const core of stripped(moduleName)) {
    for (const prefix of PREFIXES) {
      const candidate = `${prefix}${core}.weight`;
      if (index.source.has(candidate)) return candidate;
    }
  }
  let norm = moduleName.replace(/\./g, '_');
  for (const prefix of KOHYA_PREFIXES) {
    if (norm.startsWith(prefix)) {
      norm = norm.slice(prefix.length);
      break;
    }
  }
  const exact = index.normalised.get(norm);
  if (exact?.length === 1) return exact[0];
  const matches: string[] = [];
  for (const [key, names] of index.normalised) {
    if (key.endsWith(`_${norm}`) || norm.endsWith(`_${key}`)) matches.push(...names);
  }
  return matches.length === 1 ? matches[0] : undefined;
}

export type BaseShapeCheck =
  | { readonly ok: true; readonly transposed: boolean }
  | { readonly ok: false; readonly expected: string; readonly seen: readonly number[] };

export function checkBaseShape(module: LoraModule, shape: readonly number[]): BaseShapeCheck {
  const m = module.outFeatures;
  const n = module.inFeatures;
  switch (module.layout.kind) {
    case 'linear':
      if (shape.length === 2 && shape[0] === m && shape[1] === n) return { ok: true, transposed: false };
      return { ok: false, expected: `[${m}, ${n}] (out, in)`, seen: shape };
    case 'linear_fan_in_fan_out':
    case 'embedding':
      if (shape.length === 2 && shape[0] === n && shape[1] === m) return { ok: true, transposed: true };
      return { ok: false, expected: `[${n}, ${m}] (stored transposed)`, seen: shape };
    case 'conv': {
      const flat = shape.length >= 2 ? shape.slice(1).reduce((a, b) => a * b, 1) : -1;
      if (shape[0] === m && flat === n) return { ok: true, transposed: false };
      return { ok: false, expected: `[${m}, in, …kernel] with in·Πkernel = ${n}`, seen: shape };
    }
  }
}

export interface BaseWeight {
  readonly W0: Mat;
  readonly sha256: string;
}

/** Reads the stored bytes once: sha256 of them (the cache key) and the canonical m×n matrix. */
export async function readBaseWeight(source: TensorSource, tensor: string, module: LoraModule, transposed: boolean): Promise<BaseWeight> {
  const info = source.info(tensor);
  const bytes = await source.readBytes(tensor);
  const values = decodeToFloat(info.dtype, bytes, new Float64Array(info.shape.reduce((a, b) => a * b, 1)));
  const m = module.outFeatures;
  const n = module.inFeatures;
  if (!transposed) return { W0: { rows: m, cols: n, data: values }, sha256: sha256Bytes(bytes) };
  const data = new Float64Array(m * n);
  // Stored n×m → canonical m×n.
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) data[j * n + i] = values[i * m + j]!;
  }
  return { W0: { rows: m, cols: n, data }, sha256: sha256Bytes(bytes) };
}

// The contract every importer fulfils, and the shared pieces they use.
import { WorkbenchError } from '../errors.ts';
import type { TensorSource } from '../safetensors/reader.ts';
import type { AdapterFormat, ExtraTensor, LoraModule } from './types.ts';

/** What the loader hands an importer: the opened weights and the parsed config, if any. */
export interface ImportInput {
  readonly source: TensorSource;
  /** How messages name the weights file: the name the user knows (never a storage path). */
  readonly label: string;
  /** File name of the weights (e.g. "adapter_model.safetensors"), for messages and detection. */
  readonly weightsName: string;
  /** Parsed adapter_config.json (or equivalent), when present. */
  readonly config: Readonly<Record<string, unknown>> | undefined;
  readonly configName: string | undefined;
  /** Tensor names in the weights file. */
  readonly names: readonly string[];
}

export interface ImportResult {
  readonly modules: readonly LoraModule[];
  readonly extras: readonly ExtraTensor[];
  readonly baseModel: string | undefined;
  readonly warnings: readonly string[];
}

export interface AdapterImporter {
  readonly format: AdapterFormat;
  readonly description: string;
  /**
   * How sure this importer is that the input is its format, from names and config only:
   * 0 = not mine; 1 = plausible; 2 = its tensor naming; 3 = its naming and its config.
   */
  detect(input: ImportInput): number;
  import(input: ImportInput): Promise<ImportResult>;
}

export function extraTensor(source: TensorSource, key: string, role: string): ExtraTensor {
  const info = source.info(key);
  return {
    key,
    dtype: info.dtype,
    shape: info.shape,
    role,
    readBytes: () => source.readBytes(key),
  };
}

/**
 * Groups a file's factor keys by module: `pattern` captures the module (group 1) and the factor's tag
 * (group 2); `aTag` marks the A factor, any other tag is B. Modules keep first-seen order; `used`
 * holds every key that matched.
 */
export function groupFactorKeys(
  names: readonly string[],
  pattern: RegExp,
  aTag: string,
): { groups: Map<string, { A?: string; B?: string }>; used: Set<string> } {
  const groups = new Map<string, { A?: string; B?: string }>();
  const used = new Set<string>();
  for (const key of names) {
    const m = pattern.exec(key);
    if (!m) continue;
    const g = groups.get(m[1]!) ?? {};
    if (m[2] === aTag) g.A = key;
    else g.B = key;
    groups.set(m[1]!, g);
    used.add(key);
  }
  return { groups, used };
}

/** ADAPTER_MISSING_FACTOR for a module that has only one of its factors; `names` are the format's names for A and B. */
export function missingFactor(file: string, module: string, a: string | undefined, b: string | undefined, names: readonly [string, string]): WorkbenchError {
  const have = a ?? b!;
  const missing = a === undefined ? names[0] : names[1];
  return new WorkbenchError('ADAPTER_MISSING_FACTOR', `${file}: module "${module}" has "${have}" but no ${missing} factor`, {
    details: { file, module, present: have, missing },
  });
}

/** Most common value in a list (first seen wins ties). */
export function mostCommon<T>(values: readonly T[]): T | undefined {
  const counts = new Map<T, number>();
  let best: T | undefined;
  let bestCount = 0;
  for (const v of values) {
    const c = (counts.get(v) ?? 0) + 1;
    counts.set(v, c);
    if (c > bestCount) {
      best = v;
      bestCount = c;
    }
  }
  return best;
}

// The one canonical adapter model. Every importer produces it; every exporter,
// merge and analysis consumes it.
import type { Mat } from '../tensor/matrix.ts';
import type { DType } from '../dtype.ts';

/** How the canonical m×n delta maps back onto the stored base weight (algorithms.md §0.1). */
export type Layout =
  | { readonly kind: 'linear' }
  | { readonly kind: 'linear_fan_in_fan_out' } // GPT-2 Conv1D: base stored n×m
  | { readonly kind: 'embedding' } // base stored V×d; canonical m = d, n = V
  | { readonly kind: 'conv'; readonly kernel: readonly number[] }; // n_eff = in · Πkernel

export const ADAPTER_FORMATS = ['peft', 'kohya', 'diffusers', 'mlx', 'memory', 'lycoris', 'peft-loha', 'peft-lokr', 'peft-miss', 'peft-vera', 'peft-randlora', 'lora-xs', 'loldu'] as const;
export type AdapterFormat = (typeof ADAPTER_FORMATS)[number];

/** Factors in canonical orientation: A is r×n, B is m×r. The scale is NOT folded in. */
export interface ModuleFactors {
  readonly A: Mat;
  readonly B: Mat;
  /** DoRA magnitude, one entry per output row (length m), when the adapter has one. */
  readonly doraMagnitude?: Float64Array;
}

/** One low-rank module: ΔW = scale · B · A, with factors read lazily. */
export interface LoraModule {
  /** The base model's module path, e.g. "model.layers.3.self_attn.q_proj". */
  readonly name: string;
  /** m: rows of ΔW (out_features). */
  readonly outFeatures: number;
  /** n: columns of ΔW (in_features, times the kernel size for conv). */
  readonly inFeatures: number;
  readonly rank: number;
  readonly alpha: number;
  readonly scale: number;
  readonly layout: Layout;
  /** Stored dtype of the factors. */
  readonly dtype: DType;
  readonly hasDora: boolean;
  /** Tensor keys in the source file, for error messages and round trips. */
  readonly keys: { readonly A: string; readonly B: string; readonly alpha?: string; readonly magnitude?: string };
  /** Reads the factors on demand; peak memory stays bounded by one module. */
  load(options?: ModuleLoadOptions): Promise<ModuleFactors>;
  /** Set when the module was converted from another adapter family (LoHa, LoKr, VeRA…; src/formats). */
  readonly family?: { readonly name: string; readonly params: Readonly<Record<string, unknown>>; readonly conversion: 'exact' | 'truncated'; readonly relativeError?: number };
}

/** Storage hints for load(); a module may ignore them and return arrays of its own. */
export interface ModuleLoadOptions {
  /**
   * Storage for a factor's f64 data (exactly `length` values, contents overwritten): lets a caller
   * that processes modules one at a time reuse its buffers instead of first-touching fresh memory.
   */
  readonly allocate?: (factor: 'A' | 'B', length: number) => Float64Array;
}

/** A tensor that is not a LoRA factor (modules_to_save heads, biases…), carried unchanged. */
export interface ExtraTensor {
  readonly key: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Why it is an extra: "modules_to_save", "bias", "unknown". */
  readonly role: string;
  readBytes(): Promise<Uint8Array>;
}

export interface SourceFile {
  readonly name: string;
  readonly path: string;
  readonly sizeBytes: number;
  readonly sha256: string;
}

export interface Adapter {
  readonly format: AdapterFormat;
  /** A short name: folder or file name without extension. */
  readonly name: string;
  readonly files: readonly SourceFile[];
  readonly baseModel: string | undefined;
  /** The original adapter_config.json (or equivalent), preserved for round trips. */
  readonly config: Readonly<Record<string, unknown>> | undefined;
  /** Sorted by module name. */
  readonly modules: readonly LoraModule[];
  readonly extras: readonly ExtraTensor[];
  /** The dominant stored dtype of the factors. */
  readonly dtype: DType;
  /** Things the loader fixed or noticed (e.g. fan_in_fan_out forced for Conv1D). */
  readonly warnings: readonly string[];
  /** The safetensors `__metadata__` of the weights file, when it has one. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Releases open file handles. */
  close(): Promise<void>;
}

/** One module handed to an exporter: canonical factors (A r×n, B m×r) and the scale to record. */
export interface ExportModule {
  readonly name: string;
  readonly A: Mat;
  readonly B: Mat;
  /** ΔW = scale·B·A. Exporters record alpha = scale·rank (or fold it into B when asked). */
  readonly scale: number;
  readonly layout: Layout;
  readonly doraMagnitude?: Float64Array;
}

/** What an exporter wrote. */
export interface WrittenAdapter {
  /** The folder (PEFT) or file (kohya) that now exists. */
  readonly path: string;
  readonly files: readonly SourceFile[];
  readonly moduleCount: number;
  readonly tensorCount: number;
  /** The adapter_config.json written (PEFT), or undefined. */
  readonly config: Readonly<Record<string, unknown>> | undefined;
}

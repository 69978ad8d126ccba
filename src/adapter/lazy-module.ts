// Shared by every importer: check the stored shapes of a module's factors from the
// header alone, and build a LoraModule whose factors are read only when asked for.
import { WorkbenchError } from '../errors.ts';
import type { DType } from '../dtype.ts';
import { MAX_LORA_RANK } from '../limits.ts';
import type { TensorSource } from '../safetensors/reader.ts';
import { transpose, type Mat } from '../tensor/matrix.ts';
import type { Layout, LoraModule, ModuleFactors, ModuleLoadOptions } from './types.ts';

/** Float dtypes a factor may be stored in. */
export const FACTOR_DTYPES: readonly DType[] = ['F32', 'F16', 'BF16', 'F64'];

export interface FactorKeys {
  readonly A: string;
  readonly B: string;
  readonly alpha?: string;
  readonly magnitude?: string;
}

/**
 * 'standard': A stored r×n (or r×in×k… for conv), B stored m×r (or m×r×1…) — PEFT, kohya, diffusers.
 * 'transposed': A stored n×r, B stored r×m — MLX-LM's lora_a / lora_b.
 */
export type FactorOrientation = 'standard' | 'transposed';

export interface FactorShapes {
  readonly rank: number;
  readonly outFeatures: number;
  /** n_eff = in · Πkernel. */
  readonly inFeatures: number;
  /** Present for conv factors: the trailing kernel dims of A. */
  readonly kernel?: readonly number[];
  readonly dtype: DType;
}

function shapeError(file: string, module: string, why: string, details: Record<string, unknown>): WorkbenchError {
  return new WorkbenchError('ADAPTER_SHAPE_INVALID', `${file}: module "${module}": ${why}`, {
    details: { file, module, ...details },
  });
}

/** Validates the factor pair from the header (no data read). */
export function resolveFactorShapes(
  source: TensorSource,
  module: string,
  keys: FactorKeys,
  orientation: FactorOrientation,
  file: string = source.label,
): FactorShapes {
  const a = source.info(keys.A);
  const b = source.info(keys.B);
  for (const t of [a, b]) {
    if (!FACTOR_DTYPES.includes(t.dtype)) {
      throw new WorkbenchError(
        'ADAPTER_DTYPE_UNSUPPORTED',
        `${file}: module "${module}": factor "${t.name}" is stored as ${t.dtype}; only ${FACTOR_DTYPES.join(', ')} factors can be used`,
        { details: { file, module, tensor: t.name, dtype: t.dtype } },
      );
    }
  }
  const sa = a.shape;
  const sb = b.shape;
  let rank: number;
  let rankB: number;
  let outFeatures: number;
  let inFeatures: number;
  let kernel: readonly number[] | undefined;
  if (orientation === 'transposed') {
    if (sa.length !== 2 || sb.length !== 2) {
      throw shapeError(file, module, `factors must be 2-D, got A [${sa.join(', ')}] and B [${sb.join(', ')}]`, {
        shapeA: sa,
        shapeB: sb,
      });
    }
    inFeatures = sa[0]!;
    rank = sa[1]!;
    rankB = sb[0]!;
    outFeatures = sb[1]!;
  } else {
    const isConv = sa.length >= 3;
    if (sa.length < 2 || sa.length > 5 || sb.length !== sa.length) {
      throw shapeError(
        file,
        module,
        `factors must be 2-D (linear) or both ${sa.length}-D (conv), got A [${sa.join(', ')}] and B [${sb.join(', ')}]`,
        { shapeA: sa, shapeB: sb },
      );
    }
    if (isConv && !sb.slice(2).every((d) => d === 1)) {
      throw shapeError(file, module, `conv up factor B must have a 1×1 kernel, got [${sb.join(', ')}]`, { shapeB: sb });
    }
    rank = sa[0]!;
    kernel = isConv ? sa.slice(2) : undefined;
    inFeatures = sa.slice(1).reduce((x, y) => x * y, 1);
    outFeatures = sb[0]!;
    rankB = sb[1]!;
  }
  if (rank !== rankB) {
    throw new WorkbenchError(
      'ADAPTER_RANK_MISMATCH',
      `${file}: module "${module}": A "${keys.A}" has rank ${rank} but B "${keys.B}" has rank ${rankB}`,
      { details: { file, module, rankA: rank, rankB, shapeA: sa, shapeB: sb } },
    );
  }
  if (rank === 0 || outFeatures === 0 || inFeatures === 0) {
    throw shapeError(file, module, `empty factor: A [${sa.join(', ')}], B [${sb.join(', ')}]`, { shapeA: sa, shapeB: sb });
  }
  if (rank > MAX_LORA_RANK) {
    throw shapeError(file, module, `rank ${rank} exceeds the limit of ${MAX_LORA_RANK}`, { rank, limit: MAX_LORA_RANK });
  }
  const dtype = a.dtype === b.dtype ? a.dtype : a.dtype;
  return { rank, outFeatures, inFeatures, dtype, ...(kernel ? { kernel } : {}) };
}

export interface LazyModuleSpec {
  readonly name: string;
  readonly keys: FactorKeys;
  readonly orientation: FactorOrientation;
  readonly shapes: FactorShapes;
  readonly alpha: number;
  readonly scale: number;
  readonly layout: Layout;
}

/** Checks that a DoRA magnitude vector has one entry per output row. */
export function checkMagnitudeShape(source: TensorSource, module: string, key: string, outFeatures: number, file: string = source.label): void {
  const info = source.info(key);
  const count = info.shape.reduce((x, y) => x * y, 1);
  if (count !== outFeatures || !FACTOR_DTYPES.includes(info.dtype)) {
    throw shapeError(
      file,
      module,
      `DoRA magnitude "${key}" has shape [${info.shape.join(', ')}] ${info.dtype}; expected ${outFeatures} float values`,
      { tensor: key, shape: info.shape, expected: outFeatures },
    );
  }
}

export function createLazyModule(source: TensorSource, spec: LazyModuleSpec): LoraModule {
  const { shapes, keys } = spec;
  const hasDora = keys.magnitude !== undefined;
  return {
    name: spec.name,
    outFeatures: shapes.outFeatures,
    inFeatures: shapes.inFeatures,
    rank: shapes.rank,
    alpha: spec.alpha,
    scale: spec.scale,
    layout: spec.layout,
    dtype: shapes.dtype,
    hasDora,
    keys,
    async load(options?: ModuleLoadOptions): Promise<ModuleFactors> {
      // Caller-provided storage only where the stored layout is already canonical (no transpose copy).
      const allocate = spec.orientation === 'transposed' ? undefined : options?.allocate;
      const lengthA = shapes.rank * shapes.inFeatures;
      const lengthB = shapes.outFeatures * shapes.rank;
      const [aData, bData] = await Promise.all([
        source.readFloat64(keys.A, allocate?.('A', lengthA)),
        source.readFloat64(keys.B, allocate?.('B', lengthB)),
      ]);
      let A: Mat;
      let B: Mat;
      if (spec.orientation === 'transposed') {
        A = transpose({ rows: shapes.inFeatures, cols: shapes.rank, data: aData });
        B = transpose({ rows: shapes.rank, cols: shapes.outFeatures, data: bData });
      } else {
        A = { rows: shapes.rank, cols: shapes.inFeatures, data: aData };
        B = { rows: shapes.outFeatures, cols: shapes.rank, data: bData };
      }
      if (keys.magnitude !== undefined) {
        return { A, B, doraMagnitude: await source.readFloat64(keys.magnitude) };
      }
      return { A, B };
    },
  };
}

/** Counts NaN and ±Inf values. */
export function countNonFinite(values: Float64Array): number {
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      count++;
    }
  }
  return count;
}

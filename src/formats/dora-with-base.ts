// DoRA with its base weight (algorithms.md §5.7): the module's effective delta
// diag(g)·(W0 + s·B·A) − W0 is truncated to a rank or energy threshold (operator + randomized SVD) and
// returned as a plain LoRA module (scale 1) whose family records the error and max|g − 1|.
// The base weight is read from a model's safetensors: "<module>.weight", canonical m×n orientation
// (GPT-2 Conv1D and embedding tables are stored transposed).
import { WorkbenchError } from '../errors.ts';
import type { LoraModule } from '../adapter/types.ts';
import type { TensorSource } from '../safetensors/reader.ts';
import { transpose, type Mat } from '../tensor/matrix.ts';
import { doraToLora } from './dora.ts';
import type { OperatorTruncateOptions } from './truncate-operator.ts';

/** The key of "<name>.weight" in a base model (also with the module path's first segment dropped or a "model." / "transformer." prefix). */
export function baseWeightKey(base: TensorSource, name: string): string {
  const candidates = [`${name}.weight`, `${name.slice(name.indexOf('.') + 1)}.weight`, `model.${name}.weight`, `transformer.${name}.weight`];
  const key = candidates.find((k) => base.has(k));
  if (key === undefined) {
    throw new WorkbenchError('FAMILY_TENSORS_INVALID', `${base.label}: no base weight for module "${name}" (tried ${candidates.map((c) => `"${c}"`).join(', ')})`, {
      details: { module: name, tried: candidates },
    });
  }
  return key;
}

/** The base weight of a module in canonical m×n orientation (see baseWeightKey for the names tried). */
export async function baseWeightFor(base: TensorSource, module: LoraModule): Promise<Mat> {
  const name = module.name;
  const key = baseWeightKey(base, name);
  const shape = base.info(key).shape;
  const rows = shape[0] ?? 1;
  const cols = shape.slice(1).reduce((a, b) => a * b, 1);
  const stored: Mat = { rows, cols, data: await base.readFloat64(key) };
  const transposed = module.layout.kind === 'linear_fan_in_fan_out' || module.layout.kind === 'embedding';
  const W0 = transposed ? transpose(stored) : stored;
  if (W0.rows !== module.outFeatures || W0.cols !== module.inFeatures) {
    throw new WorkbenchError(
      'FAMILY_TENSORS_INVALID',
      `${base.label}: base weight "${key}" is [${shape.join(', ')}]; module "${name}" needs ${module.outFeatures}×${module.inFeatures} (${module.layout.kind})`,
      { details: { module: name, tensor: key, shape, outFeatures: module.outFeatures, inFeatures: module.inFeatures } },
    );
  }
  return W0;
}

/** A DoRA module → a truncated LoRA module of its effective delta; non-DoRA modules are returned as they are. */
export async function doraModuleWithBase(module: LoraModule, W0: Mat, options: OperatorTruncateOptions): Promise<LoraModule> {
  if (!module.hasDora) return module;
  const f = await module.load();
  if (!f.doraMagnitude) {
    throw new WorkbenchError('FAMILY_TENSORS_INVALID', `module "${module.name}" is marked DoRA but has no magnitude vector`, { details: { module: module.name } });
  }
  const t = await doraToLora(W0, f.B, f.A, module.scale, f.doraMagnitude, options);
  const factors = { A: t.A, B: t.B };
  const { magnitude: _dropped, ...keys } = module.keys;
  return {
    ...module,
    rank: t.rank,
    alpha: t.rank,
    scale: 1,
    hasDora: false,
    keys,
    family: {
      name: 'dora',
      params: { originalRank: module.rank, maxGainDeviation: t.maxGainDeviation, seed: t.seed, norm: t.norm },
      conversion: 'truncated',
      relativeError: t.relativeError,
    },
    load: async () => factors,
  };
}

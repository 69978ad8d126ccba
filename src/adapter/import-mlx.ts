// MLX-LM LoRA: adapters.safetensors + adapter_config.json. MLX computes
// y += scale·(x·lora_a)·lora_b with lora_a stored [in, r] and lora_b [r, out], so the
// canonical factors are A = lora_aᵀ (r×in), B = lora_bᵀ (out×r), and the scale is MLX's
// `lora_parameters.scale` itself (alpha = scale·r). A DoRA magnitude is `<path>.m`.
import { WorkbenchError } from '../errors.ts';
import { extraTensor, groupFactorKeys, missingFactor, type AdapterImporter, type ImportInput, type ImportResult } from './importer.ts';
import { checkMagnitudeShape, createLazyModule, resolveFactorShapes, type FactorKeys } from './lazy-module.ts';
import type { LoraModule } from './types.ts';

const FACTOR_RE = /^(.+)\.lora_(a|b)$/;

/** mlx-lm's LoRALinear default scale, used only when the config does not say. */
export const MLX_DEFAULT_SCALE = 20;

function detect(input: ImportInput): number {
  if (!input.names.some((n) => FACTOR_RE.test(n))) return 0;
  const params = input.config?.lora_parameters;
  return params !== null && typeof params === 'object' ? 3 : 2;
}

function readParams(input: ImportInput): { scale?: number; rank?: number } {
  const file = input.configName ?? 'adapter_config.json';
  const params = input.config?.lora_parameters;
  if (params === undefined || params === null) return {};
  if (typeof params !== 'object' || Array.isArray(params)) {
    throw new WorkbenchError('ADAPTER_CONFIG_INVALID', `${file}: "lora_parameters" must be an object`, { details: { file, field: 'lora_parameters' } });
  }
  const p = params as Record<string, unknown>;
  const out: { scale?: number; rank?: number } = {};
  for (const field of ['scale', 'rank'] as const) {
    const v = p[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new WorkbenchError('ADAPTER_CONFIG_INVALID', `${file}: "lora_parameters.${field}" must be a number, got ${JSON.stringify(v)}`, {
        details: { file, field: `lora_parameters.${field}`, value: v },
      });
    }
    out[field] = v;
  }
  return out;
}

async function importMlx(input: ImportInput): Promise<ImportResult> {
  const { source, names } = input;
  const file = input.label;
  const warnings: string[] = [];
  const params = readParams(input);
  if (params.scale === undefined) {
    warnings.push(`no lora_parameters.scale in the config: mlx-lm's default scale ${MLX_DEFAULT_SCALE} used`);
  }
  const scale = params.scale ?? MLX_DEFAULT_SCALE;
  const { groups, used } = groupFactorKeys(names, FACTOR_RE, 'a');
  const modules: LoraModule[] = [];
  for (const [name, g] of groups) {
    if (g.A === undefined || g.B === undefined) throw missingFactor(file, name, g.A, g.B, ['lora_a', 'lora_b']);
    const magnitudeKey = `${name}.m`;
    const hasMagnitude = source.has(magnitudeKey);
    const keys: FactorKeys = { A: g.A, B: g.B, ...(hasMagnitude ? { magnitude: magnitudeKey } : {}) };
    const shapes = resolveFactorShapes(source, name, keys, 'transposed', file);
    if (hasMagnitude) {
      checkMagnitudeShape(source, name, magnitudeKey, shapes.outFeatures, file);
      used.add(magnitudeKey);
    }
    if (params.rank !== undefined && params.rank !== shapes.rank) {
      throw new WorkbenchError(
        'ADAPTER_CONFIG_MISMATCH',
        `${file}: module "${name}": the config says lora_parameters.rank = ${params.rank} but the tensors have rank ${shapes.rank}`,
        { details: { file, module: name, configRank: params.rank, tensorRank: shapes.rank } },
      );
    }
    modules.push(
      createLazyModule(source, { name, keys, orientation: 'transposed', shapes, alpha: scale * shapes.rank, scale, layout: { kind: 'linear' } }),
    );
  }
  const extras = names.filter((n) => !used.has(n)).map((key) => extraTensor(source, key, 'unknown'));
  if (extras.length > 0) {
    warnings.push(`${extras.length} tensor(s) are not LoRA factors and are carried unchanged (e.g. "${extras[0]!.key}")`);
  }
  const model = input.config?.model ?? input.config?.base_model;
  return { modules, extras, baseModel: typeof model === 'string' ? model : undefined, warnings };
}

export const mlxImporter: AdapterImporter = {
  format: 'mlx',
  description: 'MLX-LM LoRA (adapters.safetensors, lora_a [in, r] / lora_b [r, out])',
  detect,
  import: importMlx,
};

// kohya-ss / A1111 LoRA and LoCon: `<prefix>.lora_down.weight` (A), `<prefix>.lora_up.weight` (B),
// `<prefix>.alpha` (scalar); scale = alpha / r, no alpha → scale 1 (algorithms.md §5.1, A23).
// Module names keep the kohya prefix (`lora_unet_…`, `lora_te1_…`), with any "." turned into "_".
import { WorkbenchError } from '../errors.ts';
import { extraTensor, groupFactorKeys, missingFactor, type AdapterImporter, type ImportInput, type ImportResult } from './importer.ts';
import { createLazyModule, resolveFactorShapes, type FactorKeys } from './lazy-module.ts';
import type { Layout, LoraModule } from './types.ts';

const FACTOR_RE = /^(.+)\.lora_(down|up)\.weight$/;
const KOHYA_PREFIX_RE = /^lora_(unet|te\d?)_/;
const LYCORIS_RE = /\.(hada_w1_a|hada_w1_b|lokr_w1|lokr_w2|lokr_w1_a|lokr_w2_a)$/;

export function normaliseKohyaName(prefix: string): string {
  return prefix.replace(/\./g, '_');
}

function detect(input: ImportInput): number {
  let found = 0;
  for (const name of input.names) {
    const m = FACTOR_RE.exec(name);
    if (m) {
      if (KOHYA_PREFIX_RE.test(m[1]!)) return 3;
      found = 2;
    }
  }
  return found;
}

/** Reads a scalar alpha tensor; it must be one finite number. */
export async function readAlpha(input: ImportInput, key: string, module: string): Promise<number> {
  const { source, label } = input;
  const info = source.info(key);
  const count = info.shape.reduce((a, b) => a * b, 1);
  if (count !== 1) {
    throw new WorkbenchError('ADAPTER_SHAPE_INVALID', `${label}: module "${module}": alpha "${key}" has shape [${info.shape.join(', ')}], expected a scalar`, {
      details: { file: label, module, tensor: key, shape: info.shape },
    });
  }
  const value = (await source.readFloat64(key))[0]!;
  if (!Number.isFinite(value)) {
    throw new WorkbenchError('ADAPTER_NONFINITE', `${label}: module "${module}": alpha "${key}" is ${value}`, {
      details: { file: label, module, tensor: key, count: 1 },
    });
  }
  return value;
}

async function importKohya(input: ImportInput): Promise<ImportResult> {
  const { source, names } = input;
  const file = input.label;
  const lycoris = names.find((n) => LYCORIS_RE.test(n));
  if (lycoris) {
    throw new WorkbenchError('ADAPTER_FORMAT_UNKNOWN', `${file}: "${lycoris}" is a LyCORIS LoHa/LoKr tensor; only plain LoRA/LoCon files can be loaded`, {
      details: { file, tensor: lycoris },
    });
  }
  const { groups, used } = groupFactorKeys(names, FACTOR_RE, 'down');
  const modules: LoraModule[] = [];
  const warnings: string[] = [];
  let missingAlpha = 0;
  for (const [prefix, g] of groups) {
    const name = normaliseKohyaName(prefix);
    if (g.A === undefined || g.B === undefined) throw missingFactor(file, name, g.A, g.B, ['lora_down', 'lora_up']);
    if (source.has(`${prefix}.lora_mid.weight`)) {
      throw new WorkbenchError('ADAPTER_FORMAT_UNKNOWN', `${file}: module "${name}" has a LoCon Tucker core "${prefix}.lora_mid.weight", which is not supported`, {
        details: { file, module: name, tensor: `${prefix}.lora_mid.weight` },
      });
    }
    const alphaKey = `${prefix}.alpha`;
    const hasAlpha = source.has(alphaKey);
    const keys: FactorKeys = { A: g.A, B: g.B, ...(hasAlpha ? { alpha: alphaKey } : {}) };
    const shapes = resolveFactorShapes(source, name, keys, 'standard', file);
    let alpha: number;
    if (hasAlpha) {
      alpha = await readAlpha(input, alphaKey, name);
      used.add(alphaKey);
    } else {
      alpha = shapes.rank;
      missingAlpha++;
    }
    const layout: Layout = shapes.kernel ? { kind: 'conv', kernel: shapes.kernel } : { kind: 'linear' };
    modules.push(createLazyModule(source, { name, keys, orientation: 'standard', shapes, alpha, scale: alpha / shapes.rank, layout }));
  }
  if (missingAlpha > 0) {
    warnings.push(`${missingAlpha} module(s) have no alpha tensor: scale 1 (alpha = rank)`);
  }
  const extras = names.filter((n) => !used.has(n)).map((key) => extraTensor(source, key, 'unknown'));
  if (extras.length > 0) {
    warnings.push(`${extras.length} tensor(s) are not LoRA factors and are carried unchanged (e.g. "${extras[0]!.key}")`);
  }
  const meta = source.metadata;
  const baseModel = meta.ss_sd_model_name ?? meta['modelspec.architecture'] ?? undefined;
  return { modules, extras, baseModel, warnings };
}

export const kohyaImporter: AdapterImporter = {
  format: 'kohya',
  description: 'kohya-ss / A1111 LoRA (lora_down / lora_up / alpha)',
  detect,
  import: importKohya,
};

// LoLDU (algorithms.md §5.6) as its reference code saves it: one `<path>.parametrizations.weight.0.vector_z`
// (length r) per module, nothing else. P, L_r, D_r, U_r come from the base weight W0 (LU with partial
// pivoting, f64), so without a base the importer refuses with FAMILY_UNSUPPORTED; with one,
// importLolduWithBase gives each module its exact LoRA form B' = s·P·L_r·diag(z − D_r), A' = U_r
// (s = α/r, α = lora_alpha from the config, default 1 as in LoLDU's from_linear).
import { WorkbenchError } from '../errors.ts';
import { extraTensor, type AdapterImporter, type ImportInput, type ImportResult } from '../adapter/importer.ts';
import { canonicalPeftName } from '../adapter/import-peft.ts';
import type { AdapterFormat, LoraModule, ModuleFactors } from '../adapter/types.ts';
import type { TensorSource } from '../safetensors/reader.ts';
import { baseWeightKey } from './dora-with-base.ts';
import { familyError, floatShape, unsupported } from './family-module.ts';
import { lolduToLora } from './loldu.ts';

/**
 * The adapter format of a LoLDU file. AdapterFormat (src/adapter/types.ts, not this area's file) does
 * not list 'loldu' yet; the cast stands until ADAPTER_FORMATS gains it.
 */
export const LOLDU_FORMAT: AdapterFormat = 'loldu';

/** α when the config does not give lora_alpha (LoLDU's from_linear default). */
export const LOLDU_DEFAULT_ALPHA = 1;

const Z_RE = /^(.+)\.parametrizations\.weight\.0\.vector_z$/;

/** Module path → its vector_z key. */
export function lolduModules(names: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const key of names) {
    const m = Z_RE.exec(key);
    if (m) out.set(canonicalPeftName(m[1]!), key);
  }
  return out;
}

function detect(input: ImportInput): number {
  if (lolduModules(input.names).size === 0) return 0;
  const type = input.config?.peft_type;
  return typeof type === 'string' && type.toUpperCase() === 'LOLDU' ? 3 : 2;
}

function configNumber(config: Readonly<Record<string, unknown>> | undefined, key: string, file: string): number | undefined {
  const v = config?.[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new WorkbenchError('ADAPTER_CONFIG_INVALID', `${file}: "${key}" must be a positive number, got ${JSON.stringify(v)}`, { details: { file, key } });
  }
  return v;
}

/** Without a base model: LoLDU cannot be read (its factors are not in the file). */
async function importWithoutBase(input: ImportInput): Promise<ImportResult> {
  const modules = lolduModules(input.names);
  const [name, key] = [...modules][0]!;
  const r = input.source.info(key).shape.reduce((a, b) => a * b, 1);
  throw unsupported(
    input.label,
    name,
    `LoLDU files hold only z ("${key}", r = ${r}); P, L_r, U_r must be recomputed from the base model's weight W0 ` +
      `(LU with partial pivoting): pass the base model (awb convert IN --base BASE -o OUT/)`,
    { family: 'loldu', key, rank: r, modules: modules.size },
  );
}

export const lolduImporter: AdapterImporter = {
  format: LOLDU_FORMAT,
  description: 'LoLDU (vector_z only; needs the base model)',
  detect,
  import: importWithoutBase,
};

/** A LoLDU file with its base model: each module in its exact LoRA form (factors computed on first load). */
export async function importLolduWithBase(input: ImportInput, base: TensorSource): Promise<ImportResult> {
  const file = input.label;
  const configFile = input.configName ?? file;
  const alpha = configNumber(input.config, 'lora_alpha', configFile) ?? configNumber(input.config, 'alpha', configFile) ?? LOLDU_DEFAULT_ALPHA;
  const configR = configNumber(input.config, 'r', configFile);
  const groups = lolduModules(input.names);
  const modules: LoraModule[] = [];
  for (const [name, zKey] of groups) {
    const zShape = floatShape(input.source, zKey, file, name, 1, 1);
    const r = zShape[0]!;
    if (configR !== undefined && configR !== r) {
      throw familyError(file, name, `"${zKey}" has ${r} entries but ${configFile} says r = ${configR}`, { rank: r, configRank: configR });
    }
    const wKey = baseWeightKey(base, name);
    const wShape = base.info(wKey).shape;
    if (wShape.length !== 2) {
      throw unsupported(file, name, `LoLDU needs a 2-D (linear) base weight; "${wKey}" in ${base.label} is [${wShape.join(', ')}]`, { family: 'loldu', tensor: wKey, shape: wShape });
    }
    const [m, n] = [wShape[0]!, wShape[1]!];
    if (r < 1 || r > Math.min(m, n)) {
      throw familyError(file, name, `"${zKey}" has ${r} entries; the base weight "${wKey}" [${m}, ${n}] allows 1..${Math.min(m, n)}`, { rank: r });
    }
    const scale = alpha / r;
    let cached: Promise<ModuleFactors> | undefined;
    const compute = async (): Promise<ModuleFactors> => {
      const z = await input.source.readFloat64(zKey);
      const W0 = { rows: m, cols: n, data: await base.readFloat64(wKey) };
      try {
        // lolduToLora folds s into B'; the module keeps B = B'/s so that ΔW = scale·B·A as everywhere.
        const { A, B } = lolduToLora(W0, z, 1);
        return { A, B };
      } catch (error) {
        if (error instanceof WorkbenchError && error.code === 'FAMILY_TENSORS_INVALID') {
          throw familyError(file, name, `${error.message} ("${wKey}" in ${base.label})`, { family: 'loldu', tensor: wKey, ...error.details });
        }
        throw error;
      }
    };
    modules.push({
      name,
      outFeatures: m,
      inFeatures: n,
      rank: r,
      alpha,
      scale,
      layout: { kind: 'linear' },
      dtype: input.source.info(zKey).dtype,
      hasDora: false,
      keys: { A: zKey, B: zKey },
      family: { name: 'loldu', params: { z: zKey, baseWeight: wKey, alpha }, conversion: 'exact', relativeError: 0 },
      load: () => {
        cached ??= compute().catch((error: unknown) => {
          cached = undefined;
          throw error;
        });
        return cached;
      },
    });
  }
  const used = new Set(groups.values());
  const extras = input.names.filter((k) => !used.has(k)).map((key) => extraTensor(input.source, key, 'unknown'));
  const warnings = [`${modules.length} LoLDU module(s) converted to LoRA form exactly, with P, L, D, U recomputed from ${base.label}`];
  if (extras.length > 0) warnings.push(`${extras.length} tensor(s) are not LoLDU parameters and are carried unchanged (e.g. "${extras[0]!.key}")`);
  if (input.config?.lora_alpha === undefined && input.config?.alpha === undefined) warnings.push(`no lora_alpha in the config: α = ${LOLDU_DEFAULT_ALPHA} (s = α/r)`);
  const baseModel = typeof input.config?.base_model_name_or_path === 'string' ? input.config.base_model_name_or_path : undefined;
  return { modules, extras, baseModel, warnings };
}

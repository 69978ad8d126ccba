// HuggingFace PEFT LoRA: adapter_config.json + adapter_model.safetensors, keys
// `base_model.model.<path>.lora_A[.<adapter>].weight` (algorithms.md §3.6).
import { WorkbenchError } from '../errors.ts';
import { MAX_PATTERN_SUBJECT_CHARS } from '../limits.ts';
import { extraTensor, missingFactor, type AdapterImporter, type ImportInput, type ImportResult } from './importer.ts';
import { checkMagnitudeShape, createLazyModule, resolveFactorShapes, type FactorKeys } from './lazy-module.ts';
import { getPatternKey } from './pattern-key.ts';
import { parsePeftConfig, peftScale, PEFT_DEFAULT_ALPHA, type PeftLoraConfig } from './peft-config.ts';
import type { ExtraTensor, Layout, LoraModule } from './types.ts';

export const PEFT_PREFIX = 'base_model.model.';

/**
 * `__metadata__` key our exporter writes when an adapter mixes plain linear modules with GPT-2 Conv1D
 * ones: JSON {module: "linear"} for the modules that fan_in_fan_out = true must not cover.
 */
export const LAYOUT_OVERRIDES_KEY = 'awb_layout_overrides';

function readLayoutOverrides(metadata: Readonly<Record<string, string>>, warnings: string[]): ReadonlyMap<string, 'linear'> {
  const raw = metadata[LAYOUT_OVERRIDES_KEY];
  const out = new Map<string, 'linear'>();
  if (raw === undefined) return out;
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      for (const [name, kind] of Object.entries(parsed as Record<string, unknown>)) {
        if (kind === 'linear') out.set(name, 'linear');
      }
      return out;
    }
  } catch {
    // fall through to the warning
  }
  warnings.push(`__metadata__ "${LAYOUT_OVERRIDES_KEY}" is not a JSON object of layouts; ignored`);
  return out;
}

const FACTOR_RE = /^(.+)\.(lora_A|lora_B|lora_embedding_A|lora_embedding_B)(?:\.([^.]+))?(?:\.weight)?$/;
const MAGNITUDE_RE = /^(.+)\.lora_magnitude_vector(?:\.([^.]+))?(?:\.weight)?$/;

/** GPT-2 style Conv1D layers (base weight stored in×out). */
const CONV1D_NAME_RE = /(^|\.)(c_attn|c_proj|c_fc|q_attn)$/;
const GPT2_BASE_RE = /gpt2|dialogpt/i;

/** Task types for which PEFT adds "classifier" and "score" to modules_to_save itself. */
const AUTO_SAVED_HEADS: Readonly<Record<string, readonly string[]>> = {
  SEQ_CLS: ['classifier', 'score'],
  TOKEN_CLS: ['classifier', 'score'],
  QUESTION_ANS: ['qa_outputs'],
};

interface FactorGroup {
  path: string;
  adapterName: string;
  A?: string;
  B?: string;
  embedding: boolean;
}

export function canonicalPeftName(path: string): string {
  return path.startsWith(PEFT_PREFIX) ? path.slice(PEFT_PREFIX.length) : path;
}

function parseFactorKey(key: string): { path: string; kind: string; adapterName: string } | undefined {
  if (key.endsWith('.bias')) return undefined;
  const m = FACTOR_RE.exec(key);
  if (!m) return undefined;
  let adapterName = m[3] ?? '';
  if (adapterName === 'weight') adapterName = '';
  return { path: m[1]!, kind: m[2]!, adapterName };
}

function isPeftKey(key: string): boolean {
  return parseFactorKey(key) !== undefined;
}

function matchesModule(modulePath: string, target: string): boolean {
  return modulePath === target || modulePath.endsWith(`.${target}`);
}

function detect(input: ImportInput): number {
  const hasKeys = input.names.some(isPeftKey);
  const configSaysPeft = typeof input.config?.peft_type === 'string';
  if (!hasKeys) {
    // A PEFT config with no factor keys is still PEFT's to explain (ADAPTER_EMPTY, or an unsupported peft_type).
    return configSaysPeft ? 1 : 0;
  }
  if (configSaysPeft) return 3;
  if (input.names.some((n) => n.startsWith(PEFT_PREFIX) && isPeftKey(n))) return 2;
  return 1;
}

function layoutFor(
  name: string,
  embedding: boolean,
  kernel: readonly number[] | undefined,
  config: PeftLoraConfig | undefined,
  forced: string[],
  overrides: ReadonlyMap<string, 'linear'>,
): Layout {
  if (embedding) return { kind: 'embedding' };
  if (kernel) return { kind: 'conv', kernel };
  if (overrides.has(name)) return { kind: 'linear' };
  if (config?.fanInFanOut) return { kind: 'linear_fan_in_fan_out' };
  if (config && CONV1D_NAME_RE.test(name) && GPT2_BASE_RE.test(config.baseModel ?? '')) {
    forced.push(name);
    return { kind: 'linear_fan_in_fan_out' };
  }
  return { kind: 'linear' };
}

function checkTargets(config: PeftLoraConfig, names: readonly string[], file: string, warnings: string[]): void {
  const targets = config.targetModules;
  if (targets === undefined || names.length === 0) return;
  if (typeof targets === 'string') {
    if (targets === 'all-linear') return;
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${targets})$`);
    } catch {
      warnings.push(`target_modules regex "${targets}" cannot be checked here (not a JavaScript regex)`);
      return;
    }
    if (!names.some((n) => n.length <= MAX_PATTERN_SUBJECT_CHARS && re.test(n))) {
      throw new WorkbenchError(
        'ADAPTER_CONFIG_MISMATCH',
        `${file}: target_modules regex "${targets}" matches none of the ${names.length} modules in the weights (first: "${names[0]}")`,
        { details: { file, targetModules: targets, firstModule: names[0] } },
      );
    }
    return;
  }
  const unmatched = targets.filter((t) => !names.some((n) => matchesModule(n, t)));
  if (targets.length > 0 && unmatched.length === targets.length) {
    throw new WorkbenchError(
      'ADAPTER_CONFIG_MISMATCH',
      `${file}: target_modules [${targets.join(', ')}] name none of the ${names.length} modules in the weights (first: "${names[0]}")`,
      { details: { file, targetModules: targets, firstModule: names[0] } },
    );
  }
  if (unmatched.length > 0) {
    warnings.push(`target_modules entries with no LoRA weights: ${unmatched.join(', ')}`);
  }
}

function extraRole(key: string, config: PeftLoraConfig | undefined): string {
  const path = canonicalPeftName(key);
  if (key.includes('.lora_B.') && key.endsWith('.bias')) return 'lora_bias';
  const modulePath = path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : path;
  const saved = [...(config?.modulesToSave ?? []), ...(AUTO_SAVED_HEADS[config?.taskType ?? ''] ?? [])];
  if (saved.some((t) => matchesModule(modulePath, t))) return 'modules_to_save';
  if (key.endsWith('.bias') && config !== undefined && config.bias !== 'none') return 'bias';
  return 'unknown';
}

async function importPeft(input: ImportInput): Promise<ImportResult> {
  const { source, names } = input;
  const file = input.label;
  const warnings: string[] = [];
  let config: PeftLoraConfig | undefined;
  if (input.config) {
    config = parsePeftConfig(input.config, input.configName ?? 'adapter_config.json');
    if (config.peftType !== undefined && config.peftType !== 'LORA') {
      throw new WorkbenchError(
        'ADAPTER_FORMAT_UNKNOWN',
        `${input.configName ?? 'adapter_config.json'}: peft_type "${config.peftType}" is not supported; only LORA adapters can be loaded`,
        { details: { file: input.configName, peftType: config.peftType } },
      );
    }
  } else {
    warnings.push('no adapter_config.json: alpha taken equal to each rank (scale 1)');
  }

  const groups = new Map<string, FactorGroup>();
  const magnitudes = new Map<string, string>();
  const extraKeys: string[] = [];
  const adapterNames = new Set<string>();
  for (const key of names) {
    const factor = parseFactorKey(key);
    if (factor) {
      adapterNames.add(factor.adapterName);
      const id = `${factor.path}\u0000${factor.adapterName}`;
      let g = groups.get(id);
      if (!g) {
        g = { path: factor.path, adapterName: factor.adapterName, embedding: false };
        groups.set(id, g);
      }
      const isA = factor.kind.endsWith('_A');
      if (factor.kind.startsWith('lora_embedding')) g.embedding = true;
      if (isA) g.A = key;
      else g.B = key;
      continue;
    }
    const mag = key.endsWith('.bias') ? null : MAGNITUDE_RE.exec(key);
    if (mag) {
      magnitudes.set(canonicalPeftName(mag[1]!), key);
      continue;
    }
    extraKeys.push(key);
  }
  if (adapterNames.size > 1) {
    throw new WorkbenchError(
      'ADAPTER_DUPLICATE_MODULE',
      `${file}: the file holds several adapters (${[...adapterNames].map((n) => n || '(unnamed)').join(', ')}); save them one per file`,
      { details: { file, adapterNames: [...adapterNames] } },
    );
  }
  if (names.length > 0 && ![...groups.values()].some((g) => g.path.startsWith(PEFT_PREFIX)) && groups.size > 0) {
    warnings.push(`keys lack the "${PEFT_PREFIX}" prefix; module names are taken as written`);
  }

  const modules: LoraModule[] = [];
  const forced: string[] = [];
  const overrides = readLayoutOverrides(source.metadata, warnings);
  const useRslora = config?.useRslora ?? false;
  let alphaDefaulted = false;
  for (const g of groups.values()) {
    const name = canonicalPeftName(g.path);
    if (g.A === undefined || g.B === undefined) throw missingFactor(file, name, g.A, g.B, ['lora_A', 'lora_B']);
    const magnitude = magnitudes.get(name);
    magnitudes.delete(name);
    const keys: FactorKeys = { A: g.A, B: g.B, ...(magnitude ? { magnitude } : {}) };
    const shapes = resolveFactorShapes(source, name, keys, 'standard', file);
    if (magnitude) checkMagnitudeShape(source, name, magnitude, shapes.outFeatures, file);
    let alpha: number;
    if (config) {
      const rMatch = getPatternKey(config.rankPattern, name);
      const rConfig = rMatch?.value ?? config.r;
      if (rConfig !== undefined && rConfig !== shapes.rank) {
        const where = rMatch ? `rank_pattern["${rMatch.key}"] = ${rMatch.value}` : `r = ${rConfig}`;
        throw new WorkbenchError(
          'ADAPTER_CONFIG_MISMATCH',
          `${file}: module "${name}": the config says ${where} but the tensors have rank ${shapes.rank}`,
          { details: { file, module: name, configRank: rConfig, tensorRank: shapes.rank, patternKey: rMatch?.key ?? null } },
        );
      }
      const aMatch = getPatternKey(config.alphaPattern, name);
      const a = aMatch?.value ?? config.loraAlpha;
      if (a === undefined) alphaDefaulted = true;
      alpha = a ?? PEFT_DEFAULT_ALPHA;
    } else {
      alpha = shapes.rank;
    }
    const layout = layoutFor(name, g.embedding, shapes.kernel, config, forced, overrides);
    modules.push(
      createLazyModule(source, {
        name,
        keys,
        orientation: 'standard',
        shapes,
        alpha,
        scale: config ? peftScale(alpha, shapes.rank, useRslora) : 1,
        layout,
      }),
    );
  }
  if (alphaDefaulted) {
    warnings.push(`lora_alpha missing from the config: PEFT's default ${PEFT_DEFAULT_ALPHA} used`);
  }
  if (forced.length > 0) {
    warnings.push(
      `fan_in_fan_out is false in the config but ${forced.length} GPT-2 Conv1D module(s) (e.g. "${forced[0]}") store the base weight transposed; PEFT sets fan_in_fan_out itself, so the layout is linear_fan_in_fan_out`,
    );
  }
  for (const [name, key] of magnitudes) {
    warnings.push(`DoRA magnitude "${key}" has no LoRA factors for "${name}"; kept as an extra`);
    extraKeys.push(key);
  }
  if (config) checkTargets(config, modules.map((m) => m.name), input.configName ?? 'adapter_config.json', warnings);
  const extras: ExtraTensor[] = extraKeys.map((key) => extraTensor(source, key, extraRole(key, config)));
  const loraBiases = extras.filter((e) => e.role === 'lora_bias');
  if (loraBiases.length > 0) {
    warnings.push(`${loraBiases.length} lora_B.bias tensor(s) (lora_bias=True) are carried unchanged but are not part of ΔW = s·B·A`);
  }
  const unknown = extras.filter((e) => e.role === 'unknown');
  if (unknown.length > 0) {
    warnings.push(`${unknown.length} tensor(s) are not LoRA factors and are carried unchanged (e.g. "${unknown[0]!.key}")`);
  }
  return { modules, extras, baseModel: config?.baseModel, warnings };
}

export const peftImporter: AdapterImporter = {
  format: 'peft',
  description: 'HuggingFace PEFT LoRA (adapter_config.json + adapter_model.safetensors)',
  detect,
  import: importPeft,
};

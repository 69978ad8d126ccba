// Reads the fields of a PEFT adapter_config.json the workbench needs, checking their
// types; unknown keys stay in the raw object for round trips (algorithms.md §3.6).
import { WorkbenchError } from '../errors.ts';
import { unsafePatternReason } from './pattern-key.ts';

export interface PeftLoraConfig {
  readonly peftType: string | undefined;
  readonly r: number | undefined;
  readonly loraAlpha: number | undefined;
  readonly rankPattern: Readonly<Record<string, number>>;
  readonly alphaPattern: Readonly<Record<string, number>>;
  readonly useRslora: boolean;
  readonly useDora: boolean;
  readonly fanInFanOut: boolean;
  readonly targetModules: readonly string[] | string | undefined;
  readonly modulesToSave: readonly string[];
  readonly bias: string;
  readonly baseModel: string | undefined;
  readonly taskType: string | undefined;
}

/** PEFT LoraConfig defaults (algorithms.md §0.2). */
export const PEFT_DEFAULT_R = 8;
export const PEFT_DEFAULT_ALPHA = 8;

export function parsePeftConfig(raw: Readonly<Record<string, unknown>>, file: string): PeftLoraConfig {
  const bad = (field: string, want: string): WorkbenchError =>
    new WorkbenchError('ADAPTER_CONFIG_INVALID', `${file}: "${field}" must be ${want}, got ${JSON.stringify(raw[field])}`, {
      details: { file, field, value: raw[field] ?? null },
    });
  const present = (field: string): boolean => raw[field] !== undefined && raw[field] !== null;
  const num = (field: string, positive: boolean): number | undefined => {
    if (!present(field)) return undefined;
    const v = raw[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || (positive && v <= 0)) {
      throw bad(field, positive ? 'a positive number' : 'a number');
    }
    return v;
  };
  const bool = (field: string): boolean => {
    if (!present(field)) return false;
    if (typeof raw[field] !== 'boolean') throw bad(field, 'true or false');
    return raw[field] as boolean;
  };
  const str = (field: string): string | undefined => {
    if (!present(field)) return undefined;
    if (typeof raw[field] !== 'string') throw bad(field, 'a string');
    return raw[field] as string;
  };
  const pattern = (field: string): Record<string, number> => {
    if (!present(field)) return {};
    const v = raw[field];
    if (typeof v !== 'object' || Array.isArray(v) || !Object.values(v as object).every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0)) {
      throw bad(field, 'an object of positive numbers');
    }
    for (const key of Object.keys(v as object)) {
      const why = unsafePatternReason(key);
      if (why !== undefined) {
        throw new WorkbenchError('ADAPTER_CONFIG_INVALID', `${file}: ${field} key ${JSON.stringify(key.slice(0, 80))} ${why}`, {
          details: { file, field, key: key.slice(0, 200) },
        });
      }
    }
    return { ...(v as Record<string, number>) };
  };
  const strList = (field: string): string[] | undefined => {
    if (!present(field)) return undefined;
    const v = raw[field];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw bad(field, 'a list of strings');
    return v as string[];
  };
  const r = num('r', true);
  if (r !== undefined && !Number.isInteger(r)) throw bad('r', 'a positive integer');
  let targetModules: readonly string[] | string | undefined;
  if (typeof raw.target_modules === 'string') {
    targetModules = raw.target_modules;
    const why = unsafePatternReason(targetModules);
    if (why !== undefined) {
      throw new WorkbenchError('ADAPTER_CONFIG_INVALID', `${file}: target_modules regex ${why}`, {
        details: { file, field: 'target_modules' },
      });
    }
  } else {
    targetModules = strList('target_modules');
  }
  const lora_bias = raw.bias;
  if (lora_bias !== undefined && lora_bias !== null && typeof lora_bias !== 'string') throw bad('bias', 'a string');
  return {
    peftType: str('peft_type'),
    r,
    loraAlpha: num('lora_alpha', false),
    rankPattern: pattern('rank_pattern'),
    alphaPattern: pattern('alpha_pattern'),
    useRslora: bool('use_rslora'),
    useDora: bool('use_dora'),
    fanInFanOut: bool('fan_in_fan_out'),
    targetModules,
    modulesToSave: strList('modules_to_save') ?? [],
    bias: typeof lora_bias === 'string' ? lora_bias : 'none',
    baseModel: str('base_model_name_or_path'),
    taskType: str('task_type'),
  };
}

/** PEFT's scale rule: α/r, or α/√r under rsLoRA. */
export function peftScale(alpha: number, rank: number, useRslora: boolean): number {
  return useRslora ? alpha / Math.sqrt(rank) : alpha / rank;
}

// The fields of a PEFT adapter_config.json the family importers need (LOHA, LOKR, MISS/BONE, VERA,
// RANDLORA): r and alpha with their per-module patterns. Checked, with PEFT's defaults.
import { WorkbenchError } from '../errors.ts';
import { getPatternKey, unsafePatternReason } from '../adapter/pattern-key.ts';

export interface FamilyConfig {
  readonly peftType: string | undefined;
  readonly baseModel: string | undefined;
  /** r and alpha for one module: rank_pattern / alpha_pattern first, then the defaults. */
  rankAlpha(module: string): { r: number; alpha: number };
  readonly raw: Readonly<Record<string, unknown>>;
}

export function parseFamilyConfig(
  raw: Readonly<Record<string, unknown>> | undefined,
  file: string,
  fields: { readonly alpha: string; readonly defaultR: number; readonly defaultAlpha: number },
): FamilyConfig {
  const cfg = raw ?? {};
  const bad = (field: string, want: string): WorkbenchError =>
    new WorkbenchError('ADAPTER_CONFIG_INVALID', `${file}: "${field}" must be ${want}, got ${JSON.stringify(cfg[field])}`, {
      details: { file, field },
    });
  const num = (field: string, fallback: number): number => {
    const v = cfg[field];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw bad(field, 'a positive number');
    return v;
  };
  const pattern = (field: string): Record<string, number> => {
    const v = cfg[field];
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v) || !Object.values(v as object).every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0)) {
      throw bad(field, 'an object of positive numbers');
    }
    for (const key of Object.keys(v as object)) {
      const why = unsafePatternReason(key);
      if (why !== undefined) throw bad(field, `safe pattern keys (${JSON.stringify(key.slice(0, 80))} ${why})`);
    }
    return v as Record<string, number>;
  };
  const r = num('r', fields.defaultR);
  const alpha = num(fields.alpha, fields.defaultAlpha);
  const rankPattern = pattern('rank_pattern');
  const alphaPattern = pattern('alpha_pattern');
  const str = (field: string): string | undefined => (typeof cfg[field] === 'string' ? (cfg[field] as string) : undefined);
  return {
    peftType: str('peft_type'),
    baseModel: str('base_model_name_or_path'),
    raw: cfg,
    rankAlpha: (module) => ({
      r: getPatternKey(rankPattern, module)?.value ?? r,
      alpha: getPatternKey(alphaPattern, module)?.value ?? alpha,
    }),
  };
}

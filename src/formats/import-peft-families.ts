// PEFT's other adapter families, each converted to the LoRA form on load (algorithms.md §5.2–§5.5):
// LoHa (peft_type LOHA), LoKr (LOKR), MiSS/Bone (MISS, BONE), VeRA (VERA), RandLoRA (RANDLORA), and
// LoRA-XS (a PEFT LORA file with `<adapter>_lora_latent_mapping` matrices). Keys:
// `base_model.model.<path>.<param>[.<adapter>]`; shared bases `base_model.vera_A` etc.
import { WorkbenchError } from '../errors.ts';
import { extraTensor, type AdapterImporter, type ImportInput, type ImportResult } from '../adapter/importer.ts';
import { canonicalPeftName } from '../adapter/import-peft.ts';
import { createLazyModule, resolveFactorShapes } from '../adapter/lazy-module.ts';
import { getPatternKey } from '../adapter/pattern-key.ts';
import { parsePeftConfig, peftScale, PEFT_DEFAULT_ALPHA, PEFT_DEFAULT_R } from '../adapter/peft-config.ts';
import type { AdapterFormat, LoraModule } from '../adapter/types.ts';
import { familyError, familyModule, hasCompleteFamilyModule, floatShape, moduleShapes, MODULE_SHAPES_KEY, readMat, unsupported } from './family-module.ts';
import { lohaModule } from './loha-module.ts';
import { lokrModule } from './lokr-module.ts';
import { loraXsToLora } from './lora-xs.ts';
import { missToLora } from './miss.ts';
import { parseFamilyConfig } from './peft-family-config.ts';
import { randloraToLora } from './randlora.ts';
import { veraToLora } from './vera.ts';

/** Groups `<path>.<param>[.<adapter>]` keys by module path for the given parameter names. */
function groupKeys(names: readonly string[], params: readonly string[]): Map<string, Map<string, string>> {
  const re = new RegExp(`^(.+)\\.(${params.join('|')})(?:\\.[A-Za-z0-9_-]+)?$`);
  const groups = new Map<string, Map<string, string>>();
  for (const key of names) {
    const m = re.exec(key);
    if (!m || m[1] === 'base_model') continue;
    const path = canonicalPeftName(m[1]!);
    const g = groups.get(path) ?? new Map<string, string>();
    g.set(m[2]!, key);
    groups.set(path, g);
  }
  return groups;
}

function finish(input: ImportInput, modules: LoraModule[], used: Set<string>, baseModel: string | undefined, warnings: string[], what: string): ImportResult {
  const { source, names } = input;
  const extras = names.filter((n) => !used.has(n)).map((key) => extraTensor(source, key, 'unknown'));
  if (extras.length > 0) warnings.push(`${extras.length} tensor(s) are not ${what} parameters and are carried unchanged (e.g. "${extras[0]!.key}")`);
  if (modules.length > 0) {
    const exact = modules.filter((m) => m.family?.conversion === 'exact').length;
    warnings.push(`${modules.length} ${what} module(s) converted to LoRA form (${exact} exactly)`);
  }
  return { modules, extras, baseModel, warnings };
}

function hasSuffix(names: readonly string[], suffixes: readonly string[]): boolean {
  return names.some((n) => suffixes.some((s) => n.includes(`.${s}`)) && n.startsWith('base_model.'));
}

/** LoHa/LoKr are claimed only with a complete module (see hasCompleteFamilyModule). */
function completeDetector(peftTypes: readonly string[], suffixes: readonly string[]): (input: ImportInput) => number {
  const inner = detector(peftTypes, suffixes);
  return (input) => {
    const score = inner(input);
    const relevant = input.names.filter((n) => suffixes.some((s) => n.includes(`.${s}`)));
    return score > 0 && hasCompleteFamilyModule(new Set(input.names), relevant) ? score : 0;
  };
}

function detector(peftTypes: readonly string[], suffixes: readonly string[]): (input: ImportInput) => number {
  return (input) => {
    const typed = typeof input.config?.peft_type === 'string' && peftTypes.includes(input.config.peft_type);
    const named = hasSuffix(input.names, suffixes);
    if (typed) return 3;
    return named ? 2 : 0;
  };
}

function makeImporter(format: AdapterFormat, description: string, detect: (i: ImportInput) => number, run: (i: ImportInput) => Promise<ImportResult>): AdapterImporter {
  return { format, description, detect, import: run };
}

// ---- LoHa / LoKr --------------------------------------------------------------------------------------

const LOHA_PARAMS = ['hada_w1_a', 'hada_w1_b', 'hada_w2_a', 'hada_w2_b', 'hada_t1', 'hada_t2'];
const LOKR_PARAMS = ['lokr_w1', 'lokr_w1_a', 'lokr_w1_b', 'lokr_w2', 'lokr_w2_a', 'lokr_w2_b', 'lokr_t2'];

async function importPeftLoha(input: ImportInput): Promise<ImportResult> {
  const file = input.label;
  const config = parseFamilyConfig(input.config, input.configName ?? file, { alpha: 'alpha', defaultR: PEFT_DEFAULT_R, defaultAlpha: PEFT_DEFAULT_ALPHA });
  const warnings: string[] = [];
  if (input.config === undefined) warnings.push('no adapter_config.json: LoHa scale taken as 1 (alpha = r)');
  const modules: LoraModule[] = [];
  const used = new Set<string>();
  for (const [name, g] of groupKeys(input.names, LOHA_PARAMS)) {
    for (const s of ['hada_w1_a', 'hada_w1_b', 'hada_w2_a', 'hada_w2_b']) {
      if (!g.has(s)) throw familyError(file, name, `LoHa module has ${[...g.keys()].join(', ')} but no ${s}`, { missing: s });
    }
    modules.push(
      lohaModule({
        source: input.source,
        file,
        name,
        naming: 'peft',
        keys: {
          w1a: g.get('hada_w1_a')!,
          w1b: g.get('hada_w1_b')!,
          w2a: g.get('hada_w2_a')!,
          w2b: g.get('hada_w2_b')!,
          ...(g.get('hada_t1') ? { t1: g.get('hada_t1')! } : {}),
          ...(g.get('hada_t2') ? { t2: g.get('hada_t2')! } : {}),
        },
        scaleFor: (r1) => {
          if (input.config === undefined) return { scale: 1, alpha: r1 };
          const { r, alpha } = config.rankAlpha(name);
          return { scale: alpha / r, alpha };
        },
      }),
    );
    for (const k of g.values()) used.add(k);
  }
  return finish(input, modules, used, config.baseModel, warnings, 'LoHa');
}

async function importPeftLokr(input: ImportInput): Promise<ImportResult> {
  const file = input.label;
  const config = parseFamilyConfig(input.config, input.configName ?? file, { alpha: 'alpha', defaultR: PEFT_DEFAULT_R, defaultAlpha: PEFT_DEFAULT_ALPHA });
  const warnings: string[] = [];
  if (input.config === undefined) warnings.push('no adapter_config.json: LoKr scale taken as 1');
  const modules: LoraModule[] = [];
  const used = new Set<string>();
  for (const [name, g] of groupKeys(input.names, LOKR_PARAMS)) {
    const pick = (s: string): Record<string, string> => (g.get(`lokr_${s}`) ? { [s.replace('_', '')]: g.get(`lokr_${s}`)! } : {});
    modules.push(
      lokrModule({
        source: input.source,
        file,
        name,
        naming: 'peft',
        keys: { ...pick('w1'), ...pick('w1_a'), ...pick('w1_b'), ...pick('w2'), ...pick('w2_a'), ...pick('w2_b'), ...pick('t2') },
        scaleFor: () => {
          if (input.config === undefined) return { scale: 1, alpha: null };
          const { r, alpha } = config.rankAlpha(name);
          return { scale: alpha / r, alpha };
        },
      }),
    );
    for (const k of g.values()) used.add(k);
  }
  return finish(input, modules, used, config.baseModel, warnings, 'LoKr');
}

// ---- MiSS / Bone --------------------------------------------------------------------------------------

function needShapes(file: string, name: string, family: string, what: string): WorkbenchError {
  return unsupported(
    file,
    name,
    `${family} files do not record the module's ${what}; add "${MODULE_SHAPES_KEY}": {"${name}": [out, in]} to adapter_config.json (or the safetensors __metadata__)`,
    { family, missing: what },
  );
}

async function importPeftMiss(input: ImportInput): Promise<ImportResult> {
  const file = input.label;
  const { source } = input;
  const cfg = input.config ?? {};
  const shapes = moduleShapes(source.metadata, input.config, file);
  const modules: LoraModule[] = [];
  const used = new Set<string>();
  const mode = cfg.init_weights;
  for (const [name, g] of groupKeys(input.names, ['miss_block', 'bone_block'])) {
    const key = (g.get('miss_block') ?? g.get('bone_block'))!;
    const shape = floatShape(source, key, file, name, 2, 3);
    if (shape.length === 3 || mode === 'bat') {
      throw unsupported(file, name, `MiSS "bat" mode ("${key}" [${shape.join(', ')}]) adds W0-dependent blocks (ΔW_IJ = W_IJ·M_I + M_I); it needs the base weight and has no exact LoRA form`, {
        tensor: key,
        mode: 'bat',
      });
    }
    const hint = shapes.get(name);
    if (!hint) throw needShapes(file, name, 'MiSS', 'in_features');
    const [m, n] = hint;
    const r = shape[0]!;
    modules.push(
      familyModule({
        name,
        outFeatures: m,
        inFeatures: n,
        rank: r,
        scale: 1,
        layout: { kind: 'linear' },
        dtype: source.info(key).dtype,
        keys: { A: key, B: key },
        family: { name: 'miss', params: { r, mode: shape[1] === m ? 'default' : 'mini', miniR: shape[1] === m ? null : shape[1] }, conversion: 'exact', relativeError: 0 },
        factors: async () => missToLora(await readMat(source, key), m, n),
      }),
    );
    used.add(key);
  }
  const base = typeof cfg.base_model_name_or_path === 'string' ? cfg.base_model_name_or_path : undefined;
  return finish(input, modules, used, base, [], 'MiSS');
}

// ---- VeRA / RandLoRA ---------------------------------------------------------------------------------

function sharedKey(names: readonly string[], param: string): string | undefined {
  const re = new RegExp(`^(?:base_model\\.)?${param}(?:\\.[A-Za-z0-9_-]+)?$`);
  return names.find((n) => re.test(n));
}

function noBases(file: string, family: string, param: string): WorkbenchError {
  return new WorkbenchError(
    'FAMILY_UNSUPPORTED',
    `${file}: this ${family} file does not hold its shared projection bases ("base_model.${param}"; saved only with save_projection=True). They can only be regenerated by PyTorch's RNG (torch.Generator seeded with projection_prng_key), which this tool does not reproduce; re-save the adapter with save_projection=True`,
    { details: { file, family, missing: `base_model.${param}` }, permanent: true },
  );
}

/**
 * The shared projection bases "<prefix>_A" and "<prefix>_B" of a VeRA/RandLoRA file (required once it has
 * modules), and the set of keys consumed so far (those bases).
 */
function sharedBases(
  names: readonly string[],
  file: string,
  family: string,
  prefix: string,
  hasModules: boolean,
): { keyA: string | undefined; keyB: string | undefined; used: Set<string> } {
  const keyA = sharedKey(names, `${prefix}_A`);
  const keyB = sharedKey(names, `${prefix}_B`);
  if (hasModules && (keyA === undefined || keyB === undefined)) throw noBases(file, family, keyA === undefined ? `${prefix}_A` : `${prefix}_B`);
  return { keyA, keyB, used: new Set<string>([keyA, keyB].filter((k): k is string => k !== undefined)) };
}

async function importPeftVera(input: ImportInput): Promise<ImportResult> {
  const file = input.label;
  const { source, names } = input;
  const groups = groupKeys(names, ['vera_lambda_b', 'vera_lambda_d']);
  const { keyA, keyB, used } = sharedBases(names, file, 'VeRA', 'vera', groups.size > 0);
  const shapes = moduleShapes(source.metadata, input.config, file);
  const modules: LoraModule[] = [];
  for (const [name, g] of groups) {
    const kb = g.get('vera_lambda_b');
    const kd = g.get('vera_lambda_d');
    if (!kb || !kd) throw familyError(file, name, `VeRA module needs vera_lambda_b and vera_lambda_d; found ${[...g.keys()].join(', ')}`);
    const m = floatShape(source, kb, file, name, 1, 2).reduce((a, b) => a * b, 1);
    const r = floatShape(source, kd, file, name, 1, 2).reduce((a, b) => a * b, 1);
    const hint = shapes.get(name);
    if (!hint) throw needShapes(file, name, 'VeRA', 'in_features');
    if (hint[0] !== m) throw familyError(file, name, `"${MODULE_SHAPES_KEY}" says out = ${hint[0]} but vera_lambda_b has ${m} entries`, { out: hint[0], lambdaB: m });
    const n = hint[1];
    modules.push(
      familyModule({
        name,
        outFeatures: m,
        inFeatures: n,
        rank: r,
        scale: 1,
        layout: { kind: 'linear' },
        dtype: source.info(kb).dtype,
        keys: { A: keyA!, B: keyB! },
        family: { name: 'vera', params: { r }, conversion: 'exact', relativeError: 0 },
        factors: async () => {
          const [A, B, d, b] = await Promise.all([readMat(source, keyA!), readMat(source, keyB!), source.readFloat64(kd), source.readFloat64(kb)]);
          return veraToLora(A, B, d, b, m, n);
        },
      }),
    );
    used.add(kb).add(kd);
  }
  const cfg = input.config ?? {};
  return finish(input, modules, used, typeof cfg.base_model_name_or_path === 'string' ? cfg.base_model_name_or_path : undefined, [], 'VeRA');
}

async function importPeftRandlora(input: ImportInput): Promise<ImportResult> {
  const file = input.label;
  const { source, names } = input;
  const config = parseFamilyConfig(input.config, input.configName ?? file, { alpha: 'randlora_alpha', defaultR: 32, defaultAlpha: 640 });
  const groups = groupKeys(names, ['randlora_lambda', 'randlora_gamma']);
  const { keyA, keyB, used } = sharedBases(names, file, 'RandLoRA', 'randlora', groups.size > 0);
  const shapes = moduleShapes(source.metadata, input.config, file);
  const modules: LoraModule[] = [];
  for (const [name, g] of groups) {
    const kl = g.get('randlora_lambda');
    const kg = g.get('randlora_gamma');
    if (!kl || !kg) throw familyError(file, name, `RandLoRA module needs randlora_lambda and randlora_gamma; found ${[...g.keys()].join(', ')}`);
    const ls = floatShape(source, kl, file, name, 2, 2);
    const hint = shapes.get(name);
    if (!hint) throw needShapes(file, name, 'RandLoRA', 'shape [out, in]');
    const [m, n] = hint;
    const sa = floatShape(source, keyA!, file, name, 2, 3);
    const sb = floatShape(source, keyB!, file, name, 3, 3);
    const r = ls[0]!;
    const bases = ls[1]!;
    const { alpha } = config.rankAlpha(name);
    const cfgR = config.rankAlpha(name).r;
    const scale = alpha / cfgR;
    modules.push(
      familyModule({
        name,
        outFeatures: m,
        inFeatures: n,
        rank: r * bases,
        scale,
        layout: { kind: 'linear' },
        dtype: source.info(kl).dtype,
        keys: { A: keyA!, B: keyB! },
        family: { name: 'randlora', params: { r, bases, alpha, scale }, conversion: 'exact', relativeError: 0 },
        factors: async () => {
          const [A, Bd, lambda, gamma] = await Promise.all([readMat(source, keyA!), source.readFloat64(keyB!), readMat(source, kl), readMat(source, kg)]);
          const basisA = { rows: sa[0]!, cols: sa.slice(1).reduce((x, y) => x * y, 1), data: A.data };
          return randloraToLora({ basisA, basisB: { dims: [sb[0]!, sb[1]!, sb[2]!], data: Bd }, lambda, gamma }, m, n);
        },
      }),
    );
    used.add(kl).add(kg);
  }
  return finish(input, modules, used, config.baseModel, [], 'RandLoRA');
}

// ---- LoRA-XS / LoRA-SB -------------------------------------------------------------------------------

const LATENT_RE = /^(.+)\.(?:[A-Za-z0-9-]+_)?lora_latent_mapping(?:\.weight)?$/;

async function importLoraXs(input: ImportInput): Promise<ImportResult> {
  const file = input.label;
  const { source, names } = input;
  const config = parsePeftConfig(input.config ?? {}, input.configName ?? file);
  const modules: LoraModule[] = [];
  const used = new Set<string>();
  const warnings: string[] = [];
  for (const key of names) {
    const m = LATENT_RE.exec(key);
    if (!m) continue;
    const path = m[1]!;
    const name = canonicalPeftName(path);
    const find = (which: string): string => {
      const k = names.find((n) => n === `${path}.${which}.weight` || (n.startsWith(`${path}.${which}.`) && n.endsWith('.weight')));
      if (!k) throw familyError(file, name, `LoRA-XS module has "${key}" but no ${which} factor`, { missing: which });
      return k;
    };
    const keys = { A: find('lora_A'), B: find('lora_B') };
    const shapes = resolveFactorShapes(source, name, keys, 'standard', file);
    const rs = floatShape(source, key, file, name, 2, 2);
    if (rs[0] !== shapes.rank || rs[1] !== shapes.rank) {
      throw familyError(file, name, `latent mapping "${key}" is [${rs.join(', ')}]; expected ${shapes.rank}×${shapes.rank}`, { shape: rs, rank: shapes.rank });
    }
    const r = getPatternKey(config.rankPattern, name)?.value ?? config.r ?? PEFT_DEFAULT_R;
    const alpha = getPatternKey(config.alphaPattern, name)?.value ?? config.loraAlpha ?? PEFT_DEFAULT_ALPHA;
    const scale = peftScale(alpha, r, config.useRslora);
    const lazy = createLazyModule(source, { name, keys, orientation: 'standard', shapes, alpha, scale, layout: { kind: 'linear' } });
    modules.push(
      familyModule({
        name,
        outFeatures: shapes.outFeatures,
        inFeatures: shapes.inFeatures,
        rank: shapes.rank,
        scale,
        layout: { kind: 'linear' },
        dtype: shapes.dtype,
        keys,
        family: { name: 'lora-xs', params: { r: shapes.rank, alpha, scale }, conversion: 'exact', relativeError: 0 },
        factors: async () => {
          const f = await lazy.load();
          return loraXsToLora(f.B, await readMat(source, key), f.A);
        },
      }),
    );
    used.add(key).add(keys.A).add(keys.B);
  }
  return finish(input, modules, used, config.baseModel, warnings, 'LoRA-XS');
}

export const peftLohaImporter = makeImporter('peft-loha', 'PEFT LoHa (peft_type LOHA), converted exactly to LoRA form', completeDetector(['LOHA'], LOHA_PARAMS), importPeftLoha);
export const peftLokrImporter = makeImporter('peft-lokr', 'PEFT LoKr (peft_type LOKR), converted to LoRA form by a Kronecker SVD', completeDetector(['LOKR'], LOKR_PARAMS), importPeftLokr);
export const peftMissImporter = makeImporter('peft-miss', 'PEFT MiSS / Bone (miss_block, bone_block), converted exactly to LoRA form', detector(['MISS', 'BONE'], ['miss_block', 'bone_block']), importPeftMiss);
export const peftVeraImporter = makeImporter('peft-vera', 'PEFT VeRA with saved projections, converted exactly to LoRA form', detector(['VERA'], ['vera_lambda_b', 'vera_A']), importPeftVera);
export const peftRandloraImporter = makeImporter('peft-randlora', 'PEFT RandLoRA with saved bases, converted exactly to LoRA form', detector(['RANDLORA'], ['randlora_lambda', 'randlora_A']), importPeftRandlora);
export const loraXsImporter = makeImporter(
  'lora-xs',
  'LoRA-XS / LoRA-SB (lora_A, lora_B and a latent r×r mapping), converted exactly to LoRA form',
  (input) => (input.names.some((n) => LATENT_RE.test(n)) ? 3 : 0),
  importLoraXs,
);

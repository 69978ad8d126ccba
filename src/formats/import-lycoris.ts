// LyCORIS / kohya-named LoHa and LoKr files (`lora_unet_….hada_w1_a`, `….lokr_w1`, `….alpha`),
// plain LoRA modules in the same file included. Scales per algorithms.md §5.2: LoHa alpha / hada_w1_b.shape[0];
// LoKr alpha / dim (dim from w2_b, else w1_b; both factors full → 1); no alpha tensor → scale 1.
import { extraTensor, type AdapterImporter, type ImportInput, type ImportResult } from '../adapter/importer.ts';
import { normaliseKohyaName, readAlpha } from '../adapter/import-kohya.ts';
import { createLazyModule, resolveFactorShapes } from '../adapter/lazy-module.ts';
import type { Layout, LoraModule } from '../adapter/types.ts';
import { familyError, hasCompleteFamilyModule, unsupported } from './family-module.ts';
import { lohaModule } from './loha-module.ts';
import { lokrModule } from './lokr-module.ts';

const FAMILY_SUFFIXES = [
  'hada_w1_a', 'hada_w1_b', 'hada_w2_a', 'hada_w2_b', 'hada_t1', 'hada_t2',
  'lokr_w1', 'lokr_w1_a', 'lokr_w1_b', 'lokr_w2', 'lokr_w2_a', 'lokr_w2_b', 'lokr_t2',
] as const;
const SUFFIX_RE = new RegExp(`^(.+)\\.(${FAMILY_SUFFIXES.join('|')}|alpha|dora_scale|diff|diff_b|lora_down\\.weight|lora_up\\.weight|lora_mid\\.weight)$`);
const FAMILY_RE = new RegExp(`\\.(${FAMILY_SUFFIXES.join('|')})$`);

/**
 * Claims the file only when at least one module is a complete LoHa or LoKr set; a file with stray family
 * tensors is left to the other importers (which report an unknown format naming the tensor).
 */
function detect(input: ImportInput): number {
  const names = input.names.filter((n) => FAMILY_RE.test(n) && !n.startsWith('base_model.'));
  return names.length > 0 && hasCompleteFamilyModule(new Set(input.names), names) ? 3 : 0;
}

async function importLycoris(input: ImportInput): Promise<ImportResult> {
  const { source, names } = input;
  const file = input.label;
  const groups = new Map<string, Map<string, string>>();
  for (const key of names) {
    const m = SUFFIX_RE.exec(key);
    if (!m) continue;
    const g = groups.get(m[1]!) ?? new Map<string, string>();
    g.set(m[2]!, key);
    groups.set(m[1]!, g);
  }
  const modules: LoraModule[] = [];
  const used = new Set<string>();
  const warnings: string[] = [];
  let missingAlpha = 0;
  for (const [prefix, g] of groups) {
    const name = normaliseKohyaName(prefix);
    const alphaKey = g.get('alpha');
    const alpha = alphaKey !== undefined ? await readAlpha(input, alphaKey, name) : undefined;
    const has = (s: string): boolean => g.has(s);
    if (has('dora_scale')) {
      throw unsupported(file, name, `LyCORIS DoRA ("${g.get('dora_scale')}") defines its delta through the base weight W0; convert it with the base model`, {
        tensor: g.get('dora_scale'),
      });
    }
    if (has('diff')) {
      throw unsupported(file, name, `"${g.get('diff')}" is a dense full-rank delta; it has no LoRA form without a truncation rank`, { tensor: g.get('diff') });
    }
    let module: LoraModule | undefined;
    if (has('hada_w1_a')) {
      for (const s of ['hada_w1_b', 'hada_w2_a', 'hada_w2_b']) {
        if (!has(s)) throw familyError(file, name, `has "${g.get('hada_w1_a')}" but no ${s}`, { missing: s });
      }
      module = lohaModule({
        source,
        file,
        name,
        naming: 'lycoris',
        keys: {
          w1a: g.get('hada_w1_a')!,
          w1b: g.get('hada_w1_b') ?? `${prefix}.hada_w1_b`,
          w2a: g.get('hada_w2_a') ?? `${prefix}.hada_w2_a`,
          w2b: g.get('hada_w2_b') ?? `${prefix}.hada_w2_b`,
          ...(g.get('hada_t1') ? { t1: g.get('hada_t1')! } : {}),
          ...(g.get('hada_t2') ? { t2: g.get('hada_t2')! } : {}),
          ...(alphaKey ? { alpha: alphaKey } : {}),
        },
        scaleFor: (r1) => ({ scale: alpha === undefined ? 1 : alpha / r1, alpha: alpha ?? null }),
      });
    } else if (has('lokr_w1') || has('lokr_w1_a') || has('lokr_w2') || has('lokr_w2_a')) {
      const pick = (s: string): Record<string, string> => (g.get(`lokr_${s}`) ? { [s.replace('_', '')]: g.get(`lokr_${s}`)! } : {});
      module = lokrModule({
        source,
        file,
        name,
        naming: 'lycoris',
        keys: { ...pick('w1'), ...pick('w1_a'), ...pick('w1_b'), ...pick('w2'), ...pick('w2_a'), ...pick('w2_b'), ...pick('t2'), ...(alphaKey ? { alpha: alphaKey } : {}) },
        scaleFor: (dim) => ({ scale: alpha === undefined || dim === undefined ? 1 : alpha / dim, alpha: alpha ?? null }),
      });
    } else if (has('lora_down.weight') && has('lora_up.weight')) {
      if (has('lora_mid.weight')) {
        throw unsupported(file, name, `LoCon Tucker core "${g.get('lora_mid.weight')}" is not supported`, { tensor: g.get('lora_mid.weight') });
      }
      const keys = { A: g.get('lora_down.weight')!, B: g.get('lora_up.weight')!, ...(alphaKey ? { alpha: alphaKey } : {}) };
      const shapes = resolveFactorShapes(source, name, keys, 'standard', file);
      const a = alpha ?? shapes.rank;
      const layout: Layout = shapes.kernel ? { kind: 'conv', kernel: shapes.kernel } : { kind: 'linear' };
      module = createLazyModule(source, { name, keys, orientation: 'standard', shapes, alpha: a, scale: a / shapes.rank, layout });
    }
    if (module === undefined) continue;
    if (alpha === undefined) missingAlpha++;
    modules.push(module);
    for (const key of g.values()) used.add(key);
  }
  if (missingAlpha > 0) warnings.push(`${missingAlpha} module(s) have no alpha tensor: scale 1`);
  const converted = modules.filter((m) => m.family !== undefined);
  if (converted.length > 0) {
    const kinds = [...new Set(converted.map((m) => m.family!.name))].join(', ');
    warnings.push(`${converted.length} ${kinds} module(s) converted exactly to LoRA form (LoHa rank r1·r2, LoKr rank from the Kronecker SVD)`);
  }
  const extras = names.filter((n) => !used.has(n)).map((key) => extraTensor(source, key, 'unknown'));
  if (extras.length > 0) warnings.push(`${extras.length} tensor(s) are not adapter factors and are carried unchanged (e.g. "${extras[0]!.key}")`);
  const meta = source.metadata;
  return { modules, extras, baseModel: meta.ss_sd_model_name ?? meta['modelspec.architecture'] ?? undefined, warnings };
}

export const lycorisImporter: AdapterImporter = {
  format: 'lycoris',
  description: 'LyCORIS / kohya LoHa and LoKr (hada_w*, lokr_w*, alpha), converted to LoRA form',
  detect,
  import: importLycoris,
};

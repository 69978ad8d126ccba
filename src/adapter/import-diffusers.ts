// diffusers LoRA files (pytorch_lora_weights.safetensors), in their three namings:
//  - attention processors: `<path>.processor.to_q_lora.down.weight` → module `unet.<path>.to_q`
//    (`to_out_lora` → `to_out.0`, the Linear inside the to_out list);
//  - LoRACompatibleLinear: `<path>.lora.down.weight`, `<path>.lora_linear_layer.down.weight`;
//  - PEFT-backed: `unet.<path>.lora_A.weight` / `text_encoder.<path>.lora_B.weight`.
// Keys without a `unet.` / `text_encoder…` / `transformer.` prefix belong to the UNet, as in
// diffusers' own loader. An optional `<module>.alpha` scalar gives scale alpha/r; else scale 1.
import { extraTensor, missingFactor, type AdapterImporter, type ImportInput, type ImportResult } from './importer.ts';
import { createLazyModule, resolveFactorShapes, type FactorKeys } from './lazy-module.ts';
import { readAlpha } from './import-kohya.ts';
import type { Layout, LoraModule } from './types.ts';

const ATTN_PROC_RE = /^(.+)\.processor\.(to_q|to_k|to_v|to_out|add_q_proj|add_k_proj|add_v_proj|to_add_out)_lora\.(down|up)\.weight$/;
const COMPAT_RE = /^(.+)\.(?:lora|lora_linear_layer)\.(down|up)\.weight$/;
const PEFT_STYLE_RE = /^((?:unet|text_encoder|text_encoder_2|transformer)\..+)\.lora_(A|B)\.weight$/;
const KNOWN_PREFIX_RE = /^(unet|text_encoder|text_encoder_2|transformer)\./;

interface Parsed {
  readonly module: string;
  /** Where an alpha tensor would sit. */
  readonly alphaKey: string;
  readonly isA: boolean;
}

function withPrefix(path: string): string {
  return KNOWN_PREFIX_RE.test(path) ? path : `unet.${path}`;
}

function parseKey(key: string): Parsed | undefined {
  let m = ATTN_PROC_RE.exec(key);
  if (m) {
    const leaf = m[2] === 'to_out' ? 'to_out.0' : m[2] === 'to_add_out' ? 'to_add_out' : m[2]!;
    return { module: withPrefix(`${m[1]}.${leaf}`), alphaKey: `${m[1]}.processor.${m[2]}_lora.alpha`, isA: m[3] === 'down' };
  }
  m = COMPAT_RE.exec(key);
  if (m) {
    return { module: withPrefix(m[1]!), alphaKey: `${m[1]}.alpha`, isA: m[2] === 'down' };
  }
  m = PEFT_STYLE_RE.exec(key);
  if (m && !m[1]!.startsWith('transformer.h.')) {
    return { module: m[1]!, alphaKey: `${m[1]}.alpha`, isA: m[2] === 'A' };
  }
  return undefined;
}

function detect(input: ImportInput): number {
  if (!input.names.some((n) => parseKey(n) !== undefined)) return 0;
  return input.weightsName === 'pytorch_lora_weights.safetensors' ? 3 : 2;
}

async function importDiffusers(input: ImportInput): Promise<ImportResult> {
  const { source, names } = input;
  const file = input.label;
  const groups = new Map<string, { A?: string; B?: string; alphaKey: string }>();
  const used = new Set<string>();
  for (const key of names) {
    const p = parseKey(key);
    if (!p) continue;
    const g = groups.get(p.module) ?? { alphaKey: p.alphaKey };
    if (p.isA) g.A = key;
    else g.B = key;
    groups.set(p.module, g);
    used.add(key);
  }
  const modules: LoraModule[] = [];
  const warnings: string[] = [];
  let withAlpha = 0;
  for (const [name, g] of groups) {
    if (g.A === undefined || g.B === undefined) throw missingFactor(file, name, g.A, g.B, ['down (A)', 'up (B)']);
    const hasAlpha = source.has(g.alphaKey);
    const keys: FactorKeys = { A: g.A, B: g.B, ...(hasAlpha ? { alpha: g.alphaKey } : {}) };
    const shapes = resolveFactorShapes(source, name, keys, 'standard', file);
    let alpha = shapes.rank;
    if (hasAlpha) {
      alpha = await readAlpha(input, g.alphaKey, name);
      used.add(g.alphaKey);
      withAlpha++;
    }
    const layout: Layout = shapes.kernel ? { kind: 'conv', kernel: shapes.kernel } : { kind: 'linear' };
    modules.push(createLazyModule(source, { name, keys, orientation: 'standard', shapes, alpha, scale: alpha / shapes.rank, layout }));
  }
  if (withAlpha < modules.length) {
    warnings.push(`${modules.length - withAlpha} module(s) have no alpha tensor: scale 1 (diffusers' default without network_alphas)`);
  }
  const extras = names.filter((n) => !used.has(n)).map((key) => extraTensor(source, key, 'unknown'));
  if (extras.length > 0) {
    warnings.push(`${extras.length} tensor(s) are not LoRA factors and are carried unchanged (e.g. "${extras[0]!.key}")`);
  }
  return { modules, extras, baseModel: undefined, warnings };
}

export const diffusersImporter: AdapterImporter = {
  format: 'diffusers',
  description: 'diffusers LoRA (attention-processor, LoRACompatibleLinear or PEFT-backed keys)',
  detect,
  import: importDiffusers,
};

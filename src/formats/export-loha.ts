// Export to LoHa (LyCORIS or PEFT naming), exact: a module imported as LoHa is written back with its own
// factors unchanged; any other LoRA module B·A is the LoHa (B·A) ⊙ (1·1ᵀ), written with w2 = the
// rank-padded all-ones pair (PEFT and LyCORIS need w1 and w2 to share the rank).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkbenchError } from '../errors.ts';
import { escapePatternKey } from '../adapter/pattern-key.ts';
import { targetName } from '../adapter/target-name.ts';
import type { LoraModule } from '../adapter/types.ts';
import { floatTensor, writeSafetensors, type TensorToWrite } from '../safetensors/writer.ts';
import type { Mat } from '../tensor/matrix.ts';
import { nativeFactors } from './family-module.ts';

export type FamilyNaming = 'lycoris' | 'peft';

export interface FamilyExport {
  readonly tensors: TensorToWrite[];
  /** adapter_config.json for PEFT naming. */
  readonly config: Record<string, unknown> | undefined;
}

export function lycorisPrefix(name: string): string {
  return name.replace(/\./g, '_');
}

function ones(rows: number, cols: number, at: 'col' | 'row'): Mat {
  const data = new Float64Array(rows * cols);
  if (at === 'col') for (let i = 0; i < rows; i++) data[i * cols] = 1;
  else for (let j = 0; j < cols; j++) data[j] = 1;
  return { rows, cols, data };
}

export function refuseDora(module: LoraModule, family: string): void {
  if (module.hasDora) {
    throw new WorkbenchError('FAMILY_UNSUPPORTED', `export to ${family}: module "${module.name}" carries a DoRA magnitude, which ${family} cannot hold`, {
      details: { module: module.name, family },
    });
  }
}

export async function lohaExportTensors(modules: readonly LoraModule[], naming: FamilyNaming): Promise<FamilyExport> {
  const tensors: TensorToWrite[] = [];
  const rankPattern: Record<string, number> = {};
  const alphaPattern: Record<string, number> = {};
  for (const module of modules) {
    refuseDora(module, 'LoHa');
    const native = nativeFactors(module);
    const n = native ? await native() : undefined;
    let w1a: Mat, w1b: Mat, w2a: Mat, w2b: Mat, scale: number;
    if (n?.kind === 'loha') {
      ({ w1a, w1b, w2a, w2b, scale } = n);
    } else {
      const f = await module.load();
      const r = f.A.rows;
      w1a = f.B;
      w1b = f.A;
      w2a = ones(module.outFeatures, r, 'col');
      w2b = ones(r, module.inFeatures, 'row');
      scale = module.scale;
    }
    const r1 = w1b.rows;
    const alpha = scale * r1;
    const base = naming === 'peft' ? `base_model.model.${module.name}` : lycorisPrefix(module.name);
    const put = (suffix: string, m: Mat): void => {
      tensors.push(floatTensor(`${base}.${suffix}`, 'F32', [m.rows, m.cols], m.data));
    };
    put('hada_w1_a', w1a);
    put('hada_w1_b', w1b);
    put('hada_w2_a', w2a);
    put('hada_w2_b', w2b);
    if (naming === 'lycoris') tensors.push(floatTensor(`${base}.alpha`, 'F32', [], [alpha]));
    rankPattern[escapePatternKey(module.name)] = r1;
    alphaPattern[escapePatternKey(module.name)] = alpha;
  }
  const first = modules[0];
  const config =
    naming === 'peft'
      ? {
          peft_type: 'LOHA',
          r: first ? rankPattern[escapePatternKey(first.name)] : 8,
          alpha: first ? alphaPattern[escapePatternKey(first.name)] : 8,
          rank_pattern: rankPattern,
          alpha_pattern: alphaPattern,
          target_modules: [...new Set(modules.map((m) => targetName(m.name)))],
        }
      : undefined;
  return { tensors, config };
}

/** Writes a LyCORIS .safetensors file, or a PEFT folder (adapter_model.safetensors + adapter_config.json). */
export async function writeFamilyFile(path: string, exported: FamilyExport, metadata: Record<string, string> = {}): Promise<string> {
  if (exported.config === undefined) {
    await writeSafetensors(path, exported.tensors, metadata);
    return path;
  }
  await mkdir(path, { recursive: true });
  await writeSafetensors(join(path, 'adapter_model.safetensors'), exported.tensors, metadata);
  await writeFile(join(path, 'adapter_config.json'), `${JSON.stringify(exported.config, null, 2)}\n`);
  return path;
}

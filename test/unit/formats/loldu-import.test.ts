// LoLDU import (algorithms.md §5.6): a file with only vector_z is refused without its base model
// (FAMILY_UNSUPPORTED naming the module and `--base`); with the base, P, L, D, U are recomputed from W0
// and every module is its exact LoRA form — A20 by hand, and the numpy golden made by
// fixtures/families/generate_loldu.py (its own partial-pivot LU) within 1e-9 relative.
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkbenchError } from '../../../src/errors.ts';
import type { Adapter } from '../../../src/adapter/types.ts';
import { openSafetensors } from '../../../src/safetensors/reader.ts';
import { openTensorSource } from '../../../src/safetensors/sharded.ts';
import { floatTensor, writeSafetensors } from '../../../src/safetensors/writer.ts';
import { matmul } from '../../../src/tensor/matrix.ts';
import { createRng } from '../../../src/util/rng.ts';
import { lduDecompose, luSteps } from '../../../src/formats/loldu.ts';
import { LOLDU_FORMAT, lolduImporter } from '../../../src/formats/import-loldu.ts';
import { isLolduNeedsBase, loadAdapterOrLoldu, loadLolduAdapter } from '../../../src/formats/load-loldu-adapter.ts';
import { FIXTURES } from '../../helpers/paths.ts';

const FAM = join(FIXTURES, 'families');
interface Golden {
  modules: Record<string, { rows: number; cols: number; norm: number; delta: number[] }>;
}
const golden = JSON.parse(readFileSync(join(FIXTURES, 'golden', 'families', 'loldu.json'), 'utf8')) as Golden;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'awb-loldu-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function caught(p: Promise<unknown>): Promise<WorkbenchError> {
  try {
    await p;
  } catch (error) {
    if (error instanceof WorkbenchError) return error;
    throw error;
  }
  throw new Error('expected a WorkbenchError');
}

/** ‖scale·B·A − golden‖_F / ‖golden‖_F per module. */
async function relErrors(adapter: Adapter): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const m of adapter.modules) {
    const g = golden.modules[m.name]!;
    const f = await m.load();
    const d = matmul(f.B, f.A);
    let diff = 0;
    for (let i = 0; i < g.delta.length; i++) diff += (m.scale * d.data[i]! - g.delta[i]!) ** 2;
    out[m.name] = Math.sqrt(diff) / g.norm;
  }
  return out;
}

describe('LoLDU without its base model', () => {
  it('vector_z is detected and refused with FAMILY_UNSUPPORTED naming the module and --base', async () => {
    const e = await caught(loadAdapterOrLoldu(join(FAM, 'loldu'), undefined));
    expect(e.code).toBe('FAMILY_UNSUPPORTED');
    expect(e.message).toMatch(/^loldu\/adapter_model\.safetensors: module "model\.layers\.\d\.[a-z_]+\.[a-z_]+_proj": LoLDU files hold only z/);
    expect(e.message).toContain('parametrizations.weight.0.vector_z');
    expect(e.message).toContain('r = 2');
    expect(e.message).toContain('awb convert IN --base BASE');
    expect(e.details).toMatchObject({ family: 'loldu', rank: 2, modules: 3 });
    expect(isLolduNeedsBase(e)).toBe(true);
  });

  it('the LoLDU importer claims vector_z files (2; 3 with peft_type LOLDU) and nothing else', async () => {
    const source = await openSafetensors(join(FAM, 'loldu', 'adapter_model.safetensors'));
    const plain = await openSafetensors(join(FAM, 'loldu-base', 'model.safetensors'));
    try {
      const input = (s: typeof source, config?: Record<string, unknown>) => ({ source: s, label: 'x', weightsName: 'x', config, configName: undefined, names: [...s.tensors.keys()] });
      expect([lolduImporter.detect(input(source)), lolduImporter.detect(input(source, { peft_type: 'LOLDU' })), lolduImporter.detect(input(plain))]).toEqual([2, 3, 0]);
    } finally {
      await source.close();
      await plain.close();
    }
  });

  it('loadAdapterOrLoldu leaves other inputs to loadAdapter (a full model is still ADAPTER_NOT_FOUND)', async () => {
    const e = await caught(loadAdapterOrLoldu(join(FAM, 'loldu-base', 'model.safetensors'), undefined));
    expect(e.code).toBe('ADAPTER_NOT_FOUND');
    const ok = await loadAdapterOrLoldu(join(FAM, 'peft-loha'), undefined);
    expect(ok.format).toBe('peft-loha');
    await ok.close();
  });
});

describe('LoLDU with its base model', () => {
  it('A20: W0 = [[2,1],[4,3]], z = [5], no config (α = 1, s = 1) → B = [[0.5],[1]], A = [[1,0.75]], ΔW = [[0.5,0.375],[1,0.75]]', async () => {
    await writeSafetensors(join(dir, 'a20.safetensors'), [floatTensor('lin.parametrizations.weight.0.vector_z', 'F32', [1], [5])]);
    await writeSafetensors(join(dir, 'a20-base.safetensors'), [floatTensor('lin.weight', 'F32', [2, 2], [2, 1, 4, 3])]);
    const base = await openSafetensors(join(dir, 'a20-base.safetensors'));
    const adapter = await loadLolduAdapter(join(dir, 'a20.safetensors'), base);
    try {
      expect(adapter.format).toBe(LOLDU_FORMAT);
      const [m] = adapter.modules;
      expect([m!.name, m!.rank, m!.alpha, m!.scale, m!.outFeatures, m!.inFeatures]).toEqual(['lin', 1, 1, 1, 2, 2]);
      expect(m!.family).toMatchObject({ name: 'loldu', conversion: 'exact', relativeError: 0 });
      const f = await m!.load();
      expect([...f.B.data]).toEqual([0.5, 1]);
      expect([...f.A.data]).toEqual([1, 0.75]);
      expect([...matmul(f.B, f.A).data]).toEqual([0.5, 0.375, 1, 0.75]);
    } finally {
      await adapter.close();
      await base.close();
    }
  });

  for (const [label, basePath] of [
    ['model.safetensors', join(FAM, 'loldu-base', 'model.safetensors')],
    ['a folder with model.safetensors', join(FAM, 'loldu-base')],
    ['a sharded checkpoint index', join(FAM, 'loldu-base-sharded', 'model.safetensors.index.json')],
  ] as const) {
    it(`the numpy golden (r = 2, α = 4, three modules) is reproduced within 1e-9 relative, base given as ${label}`, async () => {
      const base = await openTensorSource(basePath);
      const adapter = await loadLolduAdapter(join(FAM, 'loldu'), base);
      try {
        expect(adapter.modules.map((m) => m.name).sort()).toEqual(Object.keys(golden.modules).sort());
        expect(adapter.modules.every((m) => m.scale === 2 && m.rank === 2 && m.alpha === 4)).toBe(true);
        const errors = await relErrors(adapter);
        for (const [name, e] of Object.entries(errors)) expect(e, name).toBeLessThan(1e-9);
        expect(adapter.files.map((f) => f.name)).toEqual(['adapter_model.safetensors', 'adapter_config.json']);
      } finally {
        await adapter.close();
        await base.close();
      }
    });
  }

  it('a zero pivot in W0 is FAMILY_TENSORS_INVALID naming the module, the column and the base tensor', async () => {
    await writeSafetensors(join(dir, 'zp.safetensors'), [floatTensor('blk.proj.parametrizations.weight.0.vector_z', 'F32', [2], [1, 2])]);
    // column 0 is fine; after eliminating it the second column has only zeros below the first row
    await writeSafetensors(join(dir, 'zp-base.safetensors'), [floatTensor('blk.proj.weight', 'F32', [3, 3], [1, 2, 3, 2, 4, 5, 3, 6, 7])]);
    const base = await openSafetensors(join(dir, 'zp-base.safetensors'));
    const adapter = await loadLolduAdapter(join(dir, 'zp.safetensors'), base);
    try {
      const e = await caught(adapter.modules[0]!.load());
      expect(e.code).toBe('FAMILY_TENSORS_INVALID');
      expect(e.message).toMatch(/module "blk\.proj".*zero pivot in column 1.*"blk\.proj\.weight"/);
    } finally {
      await adapter.close();
      await base.close();
    }
  });

  it('a config r that disagrees with the length of vector_z, or a module missing from the base, is FAMILY_TENSORS_INVALID', async () => {
    const sub = join(dir, 'bad-r');
    await mkdir(sub);
    await writeSafetensors(join(sub, 'adapter_model.safetensors'), [floatTensor('lin.parametrizations.weight.0.vector_z', 'F32', [1], [5])]);
    await writeFile(join(sub, 'adapter_config.json'), JSON.stringify({ r: 2, lora_alpha: 1 }));
    const a20 = await openSafetensors(join(dir, 'a20-base.safetensors'));
    const other = await openTensorSource(join(FAM, 'loldu-base'));
    try {
      const e = await caught(loadLolduAdapter(sub, a20));
      expect([e.code, e.message]).toEqual(['FAMILY_TENSORS_INVALID', expect.stringMatching(/module "lin": .*has 1 entries but adapter_config\.json says r = 2/)]);
      await writeFile(join(sub, 'adapter_config.json'), JSON.stringify({ r: 1, lora_alpha: 1 }));
      const missing = await caught(loadLolduAdapter(sub, other));
      expect([missing.code, missing.message]).toEqual(['FAMILY_TENSORS_INVALID', expect.stringContaining('no base weight for module "lin"')]);
    } finally {
      await a20.close();
      await other.close();
    }
  });

  it('the first r elimination steps give the same P·L_r, D_r, U_r as the full LDU (random 7×5, r = 1..5)', () => {
    const rng = createRng(7);
    const W0 = { rows: 7, cols: 5, data: Float64Array.from({ length: 35 }, () => rng.normal()) };
    const full = lduDecompose(W0);
    for (let r = 1; r <= 5; r++) {
      const part = luSteps(W0, r);
      expect([...part.D]).toEqual([...full.D.slice(0, r)]);
      expect([...part.U.data]).toEqual([...full.U.data.slice(0, r * 5)]);
      // (P·L)[perm[i], j] = L[i, j]
      const pl = (x: typeof full, k: number): number[] => {
        const out = new Array<number>(7 * r).fill(0);
        for (let i = 0; i < 7; i++) for (let j = 0; j < r; j++) out[x.perm[i]! * r + j] = x.L.data[i * k + j]!;
        return out;
      };
      expect(pl(part, r)).toEqual(pl(full, 5));
    }
  });
});

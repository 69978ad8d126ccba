// The PEFT exporter: a config PEFT accepts, patterns when ranks differ, metadata, dtype,
// atomic folders (never a half-written OUT/), streaming input.
import { existsSync, readdirSync, readFileSync, mkdirSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { adapterModules } from '../../../src/adapter/adapter-modules.ts';
import { writePeftAdapter } from '../../../src/adapter/export-peft.ts';
import { factoredRelativeDistance } from '../../../src/adapter/factored-norm.ts';
import { inMemoryAdapter } from '../../../src/adapter/in-memory-adapter.ts';
import { loadAdapter, loadAdapterFromFiles } from '../../../src/adapter/load-adapter.ts';
import type { ExportModule } from '../../../src/adapter/types.ts';
import { openSafetensors } from '../../../src/safetensors/reader.ts';
import { fromRows } from '../../../src/tensor/matrix.ts';
import { isWorkbenchError } from '../../../src/errors.ts';
import { suiteTempDir } from '../../helpers/temp-dir.ts';
import { REPO_ROOT } from '../../helpers/paths.ts';

const TMP = suiteTempDir('awb-export-');

function tiny(name: string, rank: number, scale: number): ExportModule {
  const A = fromRows(Array.from({ length: rank }, (_, i) => [i + 1, -1, 0.5]));
  const B = fromRows([Array.from({ length: rank }, (_, i) => 0.25 * (i + 1)), Array.from({ length: rank }, () => -1)]);
  return { name, A, B, scale, layout: { kind: 'linear' } };
}

describe('writePeftAdapter', () => {
  it('writes r, lora_alpha and rank/alpha patterns so that PEFT reproduces every rank and scale', async () => {
    const modules = [
      tiny('model.layers.0.self_attn.q_proj', 4, 2),
      tiny('model.layers.0.self_attn.v_proj', 4, 2),
      tiny('model.layers.1.self_attn.q_proj', 4, 2),
      tiny('model.layers.1.self_attn.v_proj', 2, 0.5),
      tiny('model.layers.11.self_attn.q_proj', 4, 3),
    ];
    const out = join(TMP, 'patterns');
    const written = await writePeftAdapter(out, { modules, baseModel: 'base/x', taskType: 'CAUSAL_LM' });
    const config = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({
      peft_type: 'LORA',
      r: 4,
      lora_alpha: 8,
      target_modules: ['q_proj', 'v_proj'],
      rank_pattern: { 'model\\.layers\\.1\\.self_attn\\.v_proj': 2 },
      alpha_pattern: { 'model\\.layers\\.1\\.self_attn\\.v_proj': 1, 'model\\.layers\\.11\\.self_attn\\.q_proj': 12 },
      use_rslora: false,
      use_dora: false,
      fan_in_fan_out: false,
      base_model_name_or_path: 'base/x',
      task_type: 'CAUSAL_LM',
    });
    expect(written.files.map((f) => f.name)).toEqual(['adapter_model.safetensors', 'adapter_config.json']);
    const back = await loadAdapter(out);
    expect(back.modules.map((m) => [m.name, m.rank, m.scale])).toEqual(modules.map((m) => [m.name, m.A.rows, m.scale]));
    await back.close();
  });

  it('writes keys base_model.model.<name>.lora_A.weight, the caller metadata, and the chosen dtype', async () => {
    const out = join(TMP, 'keys');
    await writePeftAdapter(out, { modules: [tiny('a.b.q_proj', 2, 1)], metadata: { recipe: 'r1', seed: '42' }, dtype: 'BF16' });
    const st = await openSafetensors(join(out, 'adapter_model.safetensors'));
    expect([...st.tensors.keys()].sort()).toEqual(['base_model.model.a.b.q_proj.lora_A.weight', 'base_model.model.a.b.q_proj.lora_B.weight']);
    expect(st.info('base_model.model.a.b.q_proj.lora_A.weight').dtype).toBe('BF16');
    expect(st.metadata).toEqual({ format: 'pt', recipe: 'r1', seed: '42' });
    await st.close();
  });

  it('folds the scale into B when asked: alpha = r, scale 1, same ΔW', async () => {
    const a = await loadAdapter(join(REPO_ROOT, 'fixtures/adapters/llama-c'));
    const out = join(TMP, 'folded');
    const written = await writePeftAdapter(out, { modules: adapterModules(a), config: a.config, foldScale: true });
    expect(written.config).toMatchObject({ r: 8, lora_alpha: 8, alpha_pattern: {} });
    const b = await loadAdapter(out);
    for (const [i, m] of a.modules.entries()) {
      const n = b.modules[i]!;
      expect(n.scale).toBe(1);
      const f = await m.load();
      const g = await n.load();
      expect(factoredRelativeDistance(f.A, f.B, m.scale, g.A, g.B, 1)).toBeLessThan(1e-6);
    }
    await a.close();
    await b.close();
  });

  it('streams modules from an async generator and keeps a failing stream from leaving anything behind', async () => {
    const out = join(TMP, 'failing');
    async function* modules(): AsyncGenerator<ExportModule> {
      yield tiny('x.q_proj', 2, 1);
      throw new Error('merge kernel failed');
    }
    await expect(writePeftAdapter(out, { modules: modules() })).rejects.toThrow('merge kernel failed');
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(TMP).filter((f) => f.includes('failing'))).toEqual([]);
  });

  it('refuses an existing output folder unless overwrite is set, and then replaces it whole', async () => {
    const out = join(TMP, 'exists');
    mkdirSync(out);
    writeFileSync(join(out, 'stale.txt'), 'old');
    const error = await writePeftAdapter(out, { modules: [tiny('x.q_proj', 2, 1)] }).catch((e: unknown) => e);
    expect(isWorkbenchError(error) && error.code).toBe('ADAPTER_OUTPUT_EXISTS');
    await writePeftAdapter(out, { modules: [tiny('x.q_proj', 2, 1)], overwrite: true });
    expect(readdirSync(out).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
  });

  it('stops with ABORTED when the signal fires, leaving no folder', async () => {
    const controller = new AbortController();
    const out = join(TMP, 'aborted');
    function* modules(): Generator<ExportModule> {
      yield tiny('x.q_proj', 2, 1);
      controller.abort();
      yield tiny('x.v_proj', 2, 1);
    }
    const error = await writePeftAdapter(out, { modules: modules(), signal: controller.signal }).catch((e: unknown) => e);
    expect(isWorkbenchError(error) && error.code).toBe('ABORTED');
    expect(existsSync(out)).toBe(false);
  });

  it('refuses non-finite factors and mismatched ranks, naming the module', async () => {
    const nan = tiny('x.q_proj', 2, 1);
    nan.A.data[1] = Number.NaN;
    const e1 = await writePeftAdapter(join(TMP, 'nan'), { modules: [nan] }).catch((e: unknown) => e);
    expect(isWorkbenchError(e1) && e1.code).toBe('ADAPTER_NONFINITE');
    const bad = { ...tiny('x.k_proj', 2, 1), B: fromRows([[1, 2, 3]]) };
    const e2 = await writePeftAdapter(join(TMP, 'rank'), { modules: [bad] }).catch((e: unknown) => e);
    expect(isWorkbenchError(e2) && e2.code).toBe('ADAPTER_RANK_MISMATCH');
    expect((e2 as Error).message).toContain('x.k_proj');
  });
});

describe('inMemoryAdapter', () => {
  it('gives an Adapter of format "memory" whose modules load the given factors, sorted by name', async () => {
    const adapter = inMemoryAdapter({ name: 'merged', modules: [tiny('b.v_proj', 2, 0.5), tiny('a.q_proj', 3, 2)] });
    expect(adapter.format).toBe('memory');
    expect(adapter.modules.map((m) => [m.name, m.rank, m.alpha, m.outFeatures, m.inFeatures])).toEqual([
      ['a.q_proj', 3, 6, 2, 3],
      ['b.v_proj', 2, 1, 2, 3],
    ]);
    expect((await adapter.modules[0]!.load()).A.data[0]).toBe(1);
  });
  it('refuses duplicate module names', () => {
    expect(() => inMemoryAdapter({ name: 'x', modules: [tiny('a', 2, 1), tiny('a', 2, 1)] })).toThrow(/appears twice/);
  });
});

describe('loadAdapterFromFiles (uploads)', () => {
  it('loads a PEFT folder uploaded as two blobs with their original names', async () => {
    const dir = join(TMP, 'blobs');
    mkdirSync(dir);
    copyFileSync(join(REPO_ROOT, 'fixtures/adapters/llama-a/adapter_model.safetensors'), join(dir, 'blob-1'));
    copyFileSync(join(REPO_ROOT, 'fixtures/adapters/llama-a/adapter_config.json'), join(dir, 'blob-2'));
    const adapter = await loadAdapterFromFiles(
      [
        { name: 'adapter_model.safetensors', path: join(dir, 'blob-1') },
        { name: 'adapter_config.json', path: join(dir, 'blob-2') },
      ],
      { name: 'upload' },
    );
    expect([adapter.format, adapter.name, adapter.modules.length, adapter.modules[0]!.scale]).toEqual(['peft', 'upload', 8, 2]);
    expect(adapter.files.map((f) => f.name)).toEqual(['adapter_model.safetensors', 'adapter_config.json']);
    expect(adapter.files[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    await adapter.close();
  });
});

describe('tensor alignment in exported files', () => {
  it('starts every tensor on a multiple of its element size, with F16 factors of odd length and U8/F32 extras', async () => {
    const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i & 0xff);
    const extra = (key: string, dtype: 'U8' | 'F32' | 'F64', shape: number[], size: number) => ({
      key,
      dtype,
      shape,
      role: 'unknown',
      readBytes: async () => bytes(size),
    });
    const out = join(TMP, 'aligned');
    await writePeftAdapter(out, {
      modules: [tiny('x.q_proj', 3, 1), tiny('x.v_proj', 1, 1)],
      extras: [extra('base_model.model.mask', 'U8', [3], 3), extra('base_model.model.head.weight', 'F32', [3], 12), extra('base_model.model.w64', 'F64', [1], 8)],
      dtype: 'F16',
    });
    const raw = readFileSync(join(out, 'adapter_model.safetensors'));
    const headerLength = Number(raw.readBigUInt64LE(0));
    expect((8 + headerLength) % 8).toBe(0);
    const header = JSON.parse(raw.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, { dtype: string; data_offsets: [number, number] }>;
    const width: Record<string, number> = { U8: 1, F16: 2, F32: 4, F64: 8 };
    for (const [name, info] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      expect(info.data_offsets[0] % width[info.dtype]!, `${name} at ${info.data_offsets[0]}`).toBe(0);
    }
  });
});

describe('DoRA magnitudes', () => {
  it('are written (out,) for linear and (1, out, 1, 1) for conv, and read back', async () => {
    const linear = { ...tiny('x.q_proj', 2, 1), doraMagnitude: Float64Array.from([1.5, 2.5]) };
    const conv: ExportModule = {
      name: 'x.conv',
      A: { rows: 1, cols: 4, data: Float64Array.from([1, 2, 3, 4]) },
      B: { rows: 3, cols: 1, data: Float64Array.from([1, -1, 0.5]) },
      scale: 1,
      layout: { kind: 'conv', kernel: [2, 2] },
      doraMagnitude: Float64Array.from([1, 2, 3]),
    };
    const out = join(TMP, 'dora');
    const written = await writePeftAdapter(out, { modules: [linear, conv] });
    expect(written.config).toMatchObject({ use_dora: true });
    const st = await openSafetensors(join(out, 'adapter_model.safetensors'));
    expect(st.info('base_model.model.x.q_proj.lora_magnitude_vector').shape).toEqual([2]);
    expect(st.info('base_model.model.x.conv.lora_magnitude_vector').shape).toEqual([1, 3, 1, 1]);
    expect(st.info('base_model.model.x.conv.lora_A.weight').shape).toEqual([1, 1, 2, 2]);
    expect(st.info('base_model.model.x.conv.lora_B.weight').shape).toEqual([3, 1, 1, 1]);
    await st.close();
    const back = await loadAdapter(out);
    const magnitudes = await Promise.all(back.modules.map(async (m) => [m.name, Array.from((await m.load()).doraMagnitude ?? [])]));
    expect(magnitudes).toEqual([
      ['x.conv', [1, 2, 3]],
      ['x.q_proj', [1.5, 2.5]],
    ]);
    await back.close();
  });
});

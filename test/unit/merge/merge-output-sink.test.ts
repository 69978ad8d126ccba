// The streaming merge output: PEFT and kohya folders that reload with the ΔW that was added,
// a header written into reserved space (accepted by our reader and the npm package), and OUT/
// that is absent, untouched or complete whatever happens (abort, signal, failures, existing OUT/).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SafeTensor } from 'safetensors';
import { openMergeOutput, type MergedModule, type PlannedModule } from '../../../src/merge/merge-output-sink.ts';
import { StreamingSafetensorsWriter, safetensorsHeaderBound } from '../../../src/adapter/export-tensors.ts';
import { loadAdapter } from '../../../src/adapter/load-adapter.ts';
import { factoredRelativeDistance } from '../../../src/adapter/factored-norm.ts';
import { parseSafetensors, openSafetensors } from '../../../src/safetensors/reader.ts';
import { floatTensor } from '../../../src/safetensors/writer.ts';
import { isWorkbenchError } from '../../../src/errors.ts';
import type { Layout } from '../../../src/adapter/types.ts';
import { suiteTempDir } from '../../helpers/temp-dir.ts';
import { randomMat } from './helpers.ts';

const TMP = suiteTempDir('awb-sink-');

function mod(name: string, m: number, n: number, k: number, seed: number, layout: Layout = { kind: 'linear' }): MergedModule {
  return { name, layout, outFeatures: m, inFeatures: n, B: randomMat(m, k, seed), A: randomMat(k, n, seed + 1) };
}

const plan = (modules: readonly MergedModule[]): PlannedModule[] =>
  modules.map((x) => ({ name: x.name, layout: x.layout, outFeatures: x.outFeatures, inFeatures: x.inFeatures }));

/** Leftovers of any temporary folder or file in `dir`. */
const leftovers = (dir: string): string[] => readdirSync(dir).filter((f) => f.startsWith('.awb-tmp-'));

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(isWorkbenchError(error) ? error.code : error).toBe(code);
}

const MODULES = (): MergedModule[] => [
  mod('model.layers.0.self_attn.q_proj', 12, 10, 4, 1),
  mod('model.layers.0.self_attn.v_proj', 12, 10, 2, 3),
  mod('model.layers.1.self_attn.q_proj', 12, 10, 4, 5),
  mod('model.embed_tokens', 6, 30, 3, 7, { kind: 'embedding' }),
  mod('model.conv', 5, 3 * 9, 4, 9, { kind: 'conv', kernel: [3, 3] }),
];

describe('openMergeOutput: PEFT', () => {
  for (const [dtype, tol] of [['F32', 1e-6], ['BF16', 1.6e-2]] as const) {
    it(`reloads with ΔW equal to what was added (${dtype}, tolerance ${tol}), header written in place`, async () => {
      const out = join(TMP, `peft-${dtype}`);
      const modules = MODULES();
      const sink = await openMergeOutput(out, { format: 'peft', dtype, overwrite: false, metadata: { format: 'pt', awb_seed: '7' }, plan: { modules: plan(modules) } });
      for (const m of modules) await sink.addModule(m);
      expect(sink.summary()).toEqual({ rank: 4, rankPattern: { 'model\\.layers\\.0\\.self_attn\\.v_proj': 2, 'model\\.embed_tokens': 3 }, moduleCount: 5 });
      const result = await sink.finish({ texts: { 'merge-report.json': '{"ok":true}\n' } });
      expect(result.headerInPlace).toBe(true);
      expect(result.files).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'merge-report.json']);
      expect(readdirSync(out).sort()).toEqual(result.files);
      expect(readFileSync(join(out, 'merge-report.json'), 'utf8')).toBe('{"ok":true}\n');
      const back = await loadAdapter(out);
      try {
        expect(back.modules.map((x) => x.name).sort()).toEqual(modules.map((x) => x.name).sort());
        for (const m of modules) {
          const got = back.modules.find((x) => x.name === m.name)!;
          expect([got.scale, got.rank, got.layout]).toEqual([1, m.A.rows, m.layout]);
          const f = await got.load();
          expect(factoredRelativeDistance(m.A, m.B, 1, f.A, f.B, got.scale)).toBeLessThan(tol);
        }
        expect(back.metadata).toMatchObject({ format: 'pt', awb_seed: '7' });
      } finally {
        await back.close();
      }
      expect(leftovers(TMP)).toEqual([]);
    });
  }

  it('writes r = max rank, lora_alpha = r, rank/alpha patterns, full target names, and never inherits rsLoRA/DoRA/modules_to_save', async () => {
    const out = join(TMP, 'config');
    const modules = MODULES().slice(0, 3);
    const sink = await openMergeOutput(out, { format: 'peft', dtype: 'F32', overwrite: false, metadata: {} });
    for (const m of modules) await sink.addModule(m);
    const base = { peft_type: 'LORA', r: 64, lora_alpha: 16, use_rslora: true, use_dora: true, modules_to_save: ['score'], layers_to_transform: [0], task_type: 'CAUSAL_LM', base_model_name_or_path: 'org/base' };
    const result = await sink.finish({ config: base });
    const config = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toEqual(result.config);
    expect(config).toMatchObject({
      peft_type: 'LORA',
      r: 4,
      lora_alpha: 4,
      rank_pattern: { 'model\\.layers\\.0\\.self_attn\\.v_proj': 2 },
      alpha_pattern: { 'model\\.layers\\.0\\.self_attn\\.v_proj': 2 },
      target_modules: modules.map((m) => m.name).sort(),
      use_rslora: false,
      use_dora: false,
      fan_in_fan_out: false,
      modules_to_save: null,
      layers_to_transform: null,
      task_type: 'CAUSAL_LM',
      base_model_name_or_path: 'org/base',
      inference_mode: true,
    });
    // No plan: the header goes in front of a copy of the data.
    expect(result.headerInPlace).toBe(false);
    const back = await loadAdapter(out);
    expect(back.modules.map((m) => [m.name, m.rank, m.scale])).toEqual(modules.map((m) => [m.name, m.A.rows, 1]));
    await back.close();
  });

  it('marks Conv1D modules fan_in_fan_out and keeps linear ones beside them linear on reload', async () => {
    const out = join(TMP, 'fan-in');
    const modules = [mod('h.0.attn.c_attn', 9, 6, 2, 11, { kind: 'linear_fan_in_fan_out' }), mod('h.0.mlp.down', 6, 9, 3, 13)];
    const sink = await openMergeOutput(out, { format: 'peft', dtype: 'F32', overwrite: false, metadata: { format: 'pt' }, plan: { modules: plan(modules) } });
    for (const m of modules) await sink.addModule(m);
    const result = await sink.finish();
    expect(result.config).toMatchObject({ fan_in_fan_out: true });
    expect(result.headerInPlace).toBe(true);
    const back = await loadAdapter(out);
    for (const m of modules) {
      const got = back.modules.find((x) => x.name === m.name)!;
      expect(got.layout).toEqual(m.layout);
      const f = await got.load();
      expect(factoredRelativeDistance(m.A, m.B, 1, f.A, f.B, got.scale)).toBeLessThan(1e-6);
    }
    await back.close();
  });

  it('carries extras: wide ones given at open are written first and stay aligned; modules_to_save is kept', async () => {
    const out = join(TMP, 'extras');
    // 1·(3+4) BF16 values: the factors end at byte 14, where an F32 tensor would be misaligned.
    const modules = [mod('x.q_proj', 3, 4, 1, 17)];
    const head = floatTensor('base_model.model.score.weight', 'F32', [3, 2], [1, 2, 3, 4, 5, 6]);
    const bias = floatTensor('base_model.model.score.bias', 'F16', [3], [0.5, -1, 2]);
    const sink = await openMergeOutput(out, {
      format: 'peft',
      dtype: 'BF16',
      overwrite: false,
      metadata: {},
      extras: [head],
      plan: { modules: plan(modules), extras: [bias] },
    });
    for (const m of modules) await sink.addModule(m);
    const result = await sink.finish({ extras: [bias], config: { modules_to_save: ['score'] } });
    expect(result.config).toMatchObject({ modules_to_save: ['score'] });
    expect(result.headerInPlace).toBe(true);
    const st = await openSafetensors(join(out, 'adapter_model.safetensors'));
    try {
      for (const t of [head, bias]) expect(Buffer.from(await st.readBytes(t.name)).equals(Buffer.from(t.bytes))).toBe(true);
      for (const info of st.tensors.values()) expect(info.dataOffsets[0] % (info.dtype === 'F32' ? 4 : 2)).toBe(0);
    } finally {
      await st.close();
    }
  });
  it('a plan that undercounts (modules it did not list) still gives a valid file, through the copy fallback', async () => {
    const out = join(TMP, 'undercount');
    const modules = MODULES();
    const sink = await openMergeOutput(out, { format: 'peft', dtype: 'F32', overwrite: false, metadata: {}, plan: { modules: plan(modules.slice(0, 1)) } });
    for (const m of modules) await sink.addModule(m);
    const result = await sink.finish();
    expect(result.headerInPlace).toBe(false);
    expect(readdirSync(out).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    const back = await loadAdapter(out);
    for (const m of modules) {
      const got = back.modules.find((x) => x.name === m.name)!;
      const f = await got.load();
      expect(factoredRelativeDistance(m.A, m.B, 1, f.A, f.B, got.scale)).toBeLessThan(1e-6);
    }
    await back.close();
  });
});

describe('openMergeOutput: kohya', () => {
  it('writes lora_<name>.lora_down/lora_up/alpha = rank that reload to the same ΔW with scale 1', async () => {
    const out = join(TMP, 'kohya');
    const modules = [mod('model.layers.0.self_attn.q_proj', 12, 10, 4, 21), mod('model.layers.0.self_attn.v_proj', 12, 10, 3, 23), mod('unet.conv_in', 5, 2 * 9, 2, 25, { kind: 'conv', kernel: [3, 3] })];
    const sink = await openMergeOutput(out, { format: 'kohya', dtype: 'BF16', overwrite: false, metadata: { format: 'pt' }, plan: { modules: plan(modules) } });
    expect(sink.weightsName).toBe('lora.safetensors');
    for (const m of modules) await sink.addModule(m);
    const result = await sink.finish({ texts: { 'merge-report.json': '{}' } });
    expect(result.files).toEqual(['lora.safetensors', 'merge-report.json']);
    expect(result.config).toBeUndefined();
    expect(result.headerInPlace).toBe(true);
    const st = await openSafetensors(join(out, 'lora.safetensors'));
    expect([...st.tensors.keys()].filter((k) => k.endsWith('.alpha')).sort()).toEqual([
      'lora_model_layers_0_self_attn_q_proj.alpha',
      'lora_model_layers_0_self_attn_v_proj.alpha',
      'lora_unet_conv_in.alpha',
    ]);
    expect(Array.from(await st.readFloat64('lora_model_layers_0_self_attn_v_proj.alpha'))).toEqual([3]);
    await st.close();
    const back = await loadAdapter(join(out, 'lora.safetensors'));
    try {
      for (const m of modules) {
        const got = back.modules.find((x) => x.name === `lora_${m.name.replace(/\./g, '_')}`)!;
        expect([got.scale, got.rank, got.layout]).toEqual([1, m.A.rows, m.layout]);
        const f = await got.load();
        expect(factoredRelativeDistance(m.A, m.B, 1, f.A, f.B, got.scale)).toBeLessThan(1.6e-2);
      }
    } finally {
      await back.close();
    }
  });
});

describe('reserved header', () => {
  it('is padded with spaces to the reserved length, keeps the data 8-aligned, and reads the same in our reader and the npm package', async () => {
    const path = join(TMP, 'reserved.safetensors');
    const tensors = [floatTensor('a', 'F32', [2, 3], [1, 2, 3, 4, 5, 6]), floatTensor('b', 'BF16', [3], [0.5, -2, 8]), floatTensor('c', 'F16', [1], [3])];
    const bound = safetensorsHeaderBound(tensors, {});
    const writer = await StreamingSafetensorsWriter.create(path, { reserveHeaderBytes: bound + 1000 });
    for (const t of tensors) await writer.add(t.name, t.dtype, t.shape, t.bytes);
    await writer.finish({});
    expect(writer.headerInPlace).toBe(true);
    const bytes = new Uint8Array(readFileSync(path));
    const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    expect(headerLength).toBe(Math.ceil((bound + 1000) / 8) * 8);
    expect((8 + headerLength) % 8).toBe(0);
    const json = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
    expect(json.trimEnd().length).toBeLessThanOrEqual(bound);
    expect(json.slice(json.trimEnd().length)).toMatch(/^ +$/);
    const ours = parseSafetensors(bytes, 'ours');
    const theirs = new SafeTensor(bytes);
    for (const t of tensors) {
      expect(Buffer.from(await ours.readBytes(t.name)).equals(Buffer.from(t.bytes))).toBe(true);
      expect(Buffer.from(theirs.getTensor(t.name)).equals(Buffer.from(t.bytes))).toBe(true);
    }
  });

  it('bounds the header it reserves for: with metadata the real header never exceeds the bound', async () => {
    const tensors = [floatTensor('ü/名前', 'F32', [999, 1], new Float64Array(999)), floatTensor('x', 'BF16', [], [1])];
    const metadata = { awb_recipe: '{"method":"cat","note":"ünïcode \\"quoted\\""}', format: 'pt' };
    const path = join(TMP, 'bound.safetensors');
    const writer = await StreamingSafetensorsWriter.create(path, { reserveHeaderBytes: safetensorsHeaderBound(tensors, metadata) });
    for (const t of tensors) await writer.add(t.name, t.dtype, t.shape, t.bytes);
    await writer.finish(metadata);
    expect(writer.headerInPlace).toBe(true);
    expect(parseSafetensors(new Uint8Array(readFileSync(path))).metadata).toEqual(metadata);
  });

  it('falls back to the copy path when the header outgrows its reservation, leaving one valid file', async () => {
    const dir = join(TMP, 'fallback');
    mkdirSync(dir);
    const path = join(dir, 'w.safetensors');
    const writer = await StreamingSafetensorsWriter.create(path, { reserveHeaderBytes: 16 });
    const t = floatTensor('a_long_tensor_name_that_does_not_fit', 'F32', [4], [1, 2, 3, 4]);
    await writer.add(t.name, t.dtype, t.shape, t.bytes);
    await writer.finish({ format: 'pt' });
    expect(writer.headerInPlace).toBe(false);
    expect(readdirSync(dir)).toEqual(['w.safetensors']);
    const st = parseSafetensors(new Uint8Array(readFileSync(path)));
    expect(st.metadata).toEqual({ format: 'pt' });
    expect(Array.from(await st.readFloat64(t.name))).toEqual([1, 2, 3, 4]);
  });
});

describe('OUT/ is absent, untouched or complete', () => {
  it('refuses a non-empty OUT/ without overwrite before writing anything (MERGE_OUTPUT_EXISTS)', async () => {
    const parent = join(TMP, 'exists');
    const out = join(parent, 'OUT');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'keep.txt'), 'old');
    await expectCode(openMergeOutput(out, { format: 'peft', dtype: 'F32', overwrite: false, metadata: {} }), 'MERGE_OUTPUT_EXISTS');
    expect(readdirSync(parent)).toEqual(['OUT']);
    expect(readdirSync(out)).toEqual(['keep.txt']);
  });

  it('replaces an empty OUT/ without overwrite, and a full one with overwrite', async () => {
    const out = join(TMP, 'replace');
    mkdirSync(out);
    for (const overwrite of [false, true]) {
      const sink = await openMergeOutput(out, { format: 'peft', dtype: 'F32', overwrite, metadata: {} });
      await sink.addModule(mod('x.q_proj', 3, 4, 1, 31));
      await sink.finish({ texts: { 'merge-report.json': String(overwrite) } });
      expect(readFileSync(join(out, 'merge-report.json'), 'utf8')).toBe(String(overwrite));
    }
    expect(leftovers(TMP)).toEqual([]);
  });

  it('abort() mid-way removes every temporary file and leaves the old OUT/ as it was', async () => {
    const parent = join(TMP, 'abort');
    const out = join(parent, 'OUT');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'old.txt'), 'old');
    const sink = await openMergeOutput(out, { format: 'peft', dtype: 'F32', overwrite: true, metadata: {}, plan: { modules: plan(MODULES()) } });
    await sink.addModule(MODULES()[0]!);
    expect(leftovers(parent)).toHaveLength(1);
    await sink.abort();
    await sink.abort();
    expect(readdirSync(parent)).toEqual(['OUT']);
    expect(readdirSync(out)).toEqual(['old.txt']);
    await expectCode(sink.addModule(MODULES()[1]!), 'ABORTED');
  });

  it('the AbortSignal removes the temporary folder by itself; later calls fail with ABORTED', async () => {
    const parent = join(TMP, 'signal');
    const out = join(parent, 'OUT');
    const controller = new AbortController();
    const sink = await openMergeOutput(out, { format: 'kohya', dtype: 'F32', overwrite: false, metadata: {}, signal: controller.signal });
    const modules = MODULES();
    await sink.addModule(modules[0]!);
    const pending = sink.addModule(modules[1]!);
    controller.abort();
    await pending.catch(() => undefined);
    await expectCode(sink.addModule(modules[2]!), 'ABORTED');
    // Cleaned up by the signal alone, before abort() is called.
    expect(readdirSync(parent)).toEqual([]);
    await expectCode(sink.finish(), 'ABORTED');
    await sink.abort();
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(parent)).toEqual([]);
  });

  it('a folder that becomes unwritable mid-way fails the finish, leaving no OUT/ and no leftovers', async () => {
    const parent = join(TMP, 'vanish');
    const out = join(parent, 'OUT');
    const sink = await openMergeOutput(out, { format: 'peft', dtype: 'F32', overwrite: false, metadata: {}, plan: { modules: plan(MODULES()) } });
    await sink.addModule(MODULES()[0]!);
    for (const f of leftovers(parent)) rmSync(join(parent, f), { recursive: true, force: true });
    const error = await sink.finish({ texts: { 'merge-report.json': '{}' } }).then(() => undefined, (e: unknown) => e);
    expect(isWorkbenchError(error)).toBe(true);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(parent)).toEqual([]);
  });

  it('refuses bad input with its code and cleans up: shape mismatch, duplicate module, reserved text names, nothing added', async () => {
    const parent = join(TMP, 'bad');
    const out = join(parent, 'OUT');
    const open = () => openMergeOutput(out, { format: 'peft', dtype: 'F32', overwrite: false, metadata: {} });
    let sink = await open();
    await expectCode(sink.addModule({ ...mod('x.q_proj', 3, 4, 1, 41), outFeatures: 5 }), 'ADAPTER_SHAPE_INVALID');
    sink = await open();
    await sink.addModule(mod('x.q_proj', 3, 4, 1, 41));
    await expectCode(sink.addModule(mod('x.q_proj', 3, 4, 1, 43)), 'INVALID_ARGUMENT');
    sink = await open();
    await sink.addModule(mod('x.q_proj', 3, 4, 1, 41));
    await expectCode(sink.finish({ texts: { 'adapter_config.json': '{}' } }), 'INVALID_ARGUMENT');
    sink = await open();
    await expectCode(sink.finish(), 'MERGE_EMPTY');
    expect(readdirSync(parent)).toEqual([]);
  });
});

// Plans, recipes and execution: PEFT output on disk, report, provenance, determinism,
// atomicity, and clear errors that name the module.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, readdir, rm, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planMerge, parseRecipe, recipeToYaml, runMerge, executeMerge, describeMergeMethods, registerMergeMethod, MERGE_METHODS, type RecipeInput, type MergeEvent } from '../../../src/merge/index.ts';
import { loadAdapter } from '../../../src/adapter/load-adapter.ts';
import { fromRows } from '../../../src/tensor/matrix.ts';
import { parseSafetensors } from '../../../src/safetensors/reader.ts';
import { maxAbsDiff, memoryAdapter, product, randomMat } from './helpers.ts';
import { matmul, toRows } from '../../../src/tensor/matrix.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'awb-merge-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const modNames = ['model.layers.0.self_attn.q_proj', 'model.layers.0.self_attn.v_proj', 'model.layers.1.self_attn.q_proj'];
function adapters() {
  return [0, 1, 2].map((a) =>
    memoryAdapter(
      `ad${a}`,
      modNames.filter((_, i) => a !== 2 || i !== 2).map((name, i) => ({ name, B: randomMat(10, 2 + a, 100 * a + i), A: randomMat(2 + a, 8, 100 * a + i + 50), scale: 1 + a })),
      { baseModel: a === 1 ? 'org/Tiny-Model' : 'tiny_model' },
    ),
  );
}
const recipe = (over: Partial<RecipeInput> = {}): RecipeInput => ({
  method: 'svd',
  params: { rank: 4 },
  inputs: [{ path: 'a/', weight: 1 }, { path: 'b/', weight: 0.5 }, { path: 'c/', weight: -0.25 }],
  ...over,
});

describe('registry', () => {
  it('describes every method as plain JSON with defaults', () => {
    const info = describeMergeMethods();
    expect(info.map((m) => m.name).sort()).toEqual(Object.keys(MERGE_METHODS).sort());
    expect(JSON.parse(JSON.stringify(info))).toEqual(info);
    expect(info.find((m) => m.name === 'lego')!.params.paramReweight).toMatchObject({ type: 'enum', default: 'l2Concat' });
  });
  it('refuses a second method with a taken name', () => {
    expect(() => registerMergeMethod(MERGE_METHODS.cat)).toThrow(expect.objectContaining({ code: 'REGISTRY_DUPLICATE' }));
  });
});

describe('recipes and plans', () => {
  it('parses YAML, fills defaults, and hashes the canonical plan', () => {
    const text = 'method: lego\nparams: {k: 8}\ninputs:\n  - path: A/\n  - path: B/\n    weight: 0.5\nseed: 7\n';
    const plan = planMerge(parseRecipe(text));
    expect(plan.recipe.modules.policy).toBe('union');
    expect(plan.recipe.output).toMatchObject({ format: 'peft', dtype: 'F32' });
    expect(plan.params).toMatchObject({ k: 8, msuFeature: 'canonical', paramReweight: 'l2Concat', outputReweight: 'sqrtRank' });
    expect(plan.sha256).toMatch(/^[0-9a-f]{64}$/);
    const again = planMerge(parseRecipe(recipeToYaml(plan.recipe)));
    expect(again.sha256).toBe(plan.sha256);
    expect(Object.isFrozen(plan.recipe)).toBe(true);
  });
  it('output.rank sets the method rank (k for lego)', () => {
    expect(planMerge(recipe({ method: 'lego', params: {}, output: { rank: 5 } })).params.k).toBe(5);
    expect(() => planMerge(recipe({ method: 'cat', params: {}, output: { rank: 5 } }))).toThrow(expect.objectContaining({ code: 'MERGE_PARAM_INVALID' }));
  });
  it('rejects unknown methods, unknown params, k < 1 and bad recipes with their codes', () => {
    expect(() => planMerge(recipe({ method: 'soup' }))).toThrow(expect.objectContaining({ code: 'MERGE_METHOD_UNKNOWN' }));
    expect(() => planMerge(recipe({ params: { rnak: 3 } }))).toThrow(expect.objectContaining({ code: 'MERGE_PARAM_INVALID', message: expect.stringContaining('rnak') }));
    expect(() => planMerge(recipe({ method: 'lego', params: { k: 0 } }))).toThrow(expect.objectContaining({ code: 'MERGE_PARAM_INVALID' }));
    expect(() => parseRecipe('method: cat\ninputs: []\n')).toThrow(expect.objectContaining({ code: 'RECIPE_INVALID' }));
    expect(() => parseRecipe('method: [cat\n')).toThrow(expect.objectContaining({ code: 'RECIPE_INVALID' }));
    expect(() => parseRecipe('method: cat\ninputs: [{path: a}]\noverrides: [{match: "*", weights: [1, 2]}]\n')).toThrow(
      expect.objectContaining({ code: 'RECIPE_INVALID', message: expect.stringContaining('2 weights for 1 inputs') }),
    );
  });
});

describe('executeMerge', () => {
  it('writes a PEFT adapter that loads back, with the exact truncated sum, report and provenance', async () => {
    const out = join(dir, 'svd');
    const events: MergeEvent[] = [];
    const plan = planMerge(recipe({ modules: { policy: 'union' } }));
    const report = await runMerge(plan, { outDir: out, adapters: adapters(), onProgress: (e) => events.push(e) });
    expect((await readdir(out)).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'merge-report.json']);
    const config = JSON.parse(await readFile(join(out, 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 4, use_rslora: false, target_modules: modNames });
    const reloaded = await loadAdapter(out);
    expect(reloaded.modules.map((m) => m.name).sort()).toEqual(modNames);
    // Module 2 is missing from input c (union: a zero delta). Check the product against the dense weighted sum.
    const ins = adapters();
    for (const [k, name] of modNames.entries()) {
      const mod = reloaded.modules.find((x) => x.name === name)!;
      const f = await mod.load();
      expect(mod.scale).toBe(1);
      const dense = Array.from({ length: 10 }, () => new Array<number>(8).fill(0));
      for (const [t, w] of [1, 0.5, -0.25].entries()) {
        const m = ins[t]!.modules.find((x) => x.name === name);
        if (!m) continue;
        const g = await m.load();
        toRows(matmul(g.B, g.A)).forEach((row, i) => row.forEach((v, j) => (dense[i]![j]! += w * m.scale * v)));
      }
      const got = product(f.B, f.A);
      // rank ≤ 4 output of a rank-9 sum: error equals the reported relative error.
      const err = Math.sqrt(got.flat().reduce((s, v, i) => s + (v - dense.flat()[i]!) ** 2, 0));
      const norm = Math.sqrt(dense.flat().reduce((s, v) => s + v * v, 0));
      expect(Math.abs(err / norm - report.modules[k]!.relativeErrorVsExact)).toBeLessThan(1e-5);
    }
    expect(report.modules[2]!.inputs).toEqual(['ad0', 'ad1']);
    expect(report.modules[0]!.retention).toHaveLength(3);
    const bytes = new Uint8Array(await readFile(join(out, 'adapter_model.safetensors')));
    const meta = parseSafetensors(bytes).metadata;
    expect(meta.awb_seed).toBe('42');
    expect(meta.awb_plan_sha256).toBe(plan.sha256);
    expect(JSON.parse(meta.awb_inputs!)).toHaveLength(3);
    expect(meta.awb_backend).toBe(report.backend);
    expect(report.backend).toMatch(/^typescript-f64 merge kernels \(Gram and output products: calling thread( \+ 1 helper thread| only)\)$/);
    expect(events[0]).toMatchObject({ type: 'start', totalModules: 3 });
    expect(events.filter((e) => e.type === 'module' && e.phase === 'done')).toHaveLength(3);
    expect(events.at(-1)).toMatchObject({ type: 'done' });
    await reloaded.close();
  });

  it('same seed ⇒ byte-identical outputs (lego with kmeans++ and dare_ties)', async () => {
    for (const [method, params] of [
      ['lego', { k: 3 }],
      ['dare_ties', { density: 0.5, rank: 3 }],
    ] as const) {
      const files: Buffer[][] = [];
      for (const run of [0, 1]) {
        const out = join(dir, `det-${method}-${run}`);
        await runMerge(planMerge(recipe({ method, params, seed: 9 })), { outDir: out, adapters: adapters() });
        files.push(await Promise.all(['adapter_model.safetensors', 'adapter_config.json', 'merge-report.json'].map((f) => readFile(join(out, f)))));
      }
      files[0]!.forEach((b, i) => expect(b.equals(files[1]![i]!), `${method} file ${i}`).toBe(true));
    }
  });

  it('lego with k = pool size and no reweighting reports zero error vs the exact sum', async () => {
    const out = join(dir, 'lego-cat');
    const report = await runMerge(planMerge(recipe({ method: 'lego', params: { k: 9, paramReweight: 'none', outputReweight: 'none' } })), { outDir: out, adapters: adapters() });
    expect(report.summary.maxRelativeErrorVsExact).toBeLessThan(1e-10);
    expect(report.modules[0]!.details).toMatchObject({ poolSize: 9 });
    expect(Object.keys(report.modules[0]!.details.assignment as object)).toHaveLength(9);
  });

  it('an abort between modules leaves no output folder and no temporary files', async () => {
    const out = join(dir, 'aborted');
    const controller = new AbortController();
    const gen = executeMerge(planMerge(recipe()), { outDir: out, adapters: adapters(), signal: controller.signal });
    await expect(
      (async () => {
        for await (const e of gen) if (e.type === 'module' && e.phase === 'done') controller.abort();
      })(),
    ).rejects.toMatchObject({ code: 'ABORTED' });
    expect((await readdir(dir)).filter((f) => f.includes('aborted'))).toEqual([]);
  });

  it('refuses a non-empty output folder', async () => {
    const out = join(dir, 'busy');
    await mkdir(out);
    await writeFile(join(out, 'keep.txt'), 'x');
    await expect(runMerge(planMerge(recipe()), { outDir: out, adapters: adapters() })).rejects.toMatchObject({ code: 'MERGE_OUTPUT_EXISTS' });
    expect(await readdir(out)).toEqual(['keep.txt']);
  });

  it('intersection drops modules missing from an input; include/exclude globs select modules; overrides reweight', async () => {
    const out = join(dir, 'inter');
    const report = await runMerge(
      planMerge(recipe({ method: 'cat', params: {}, modules: { policy: 'intersection', exclude: ['*.v_proj'] }, overrides: [{ match: '*.layers.0.*', weights: [2, 0, 0] }] })),
      { outDir: out, adapters: adapters() },
    );
    expect(report.modules.map((m) => m.module)).toEqual(['model.layers.0.self_attn.q_proj']);
    expect(report.modules[0]!.retention[0]!.relativeError).toBeLessThan(1e-10);
    expect(report.modules[0]!.retention[0]!.weight).toBe(2);
  });

  it('errors name the module or the inputs: empty intersection, shape mismatch, base mismatch', async () => {
    await expect(runMerge(planMerge(recipe({ modules: { include: ['nothing.*'] } })), { outDir: join(dir, 'e1'), adapters: adapters() })).rejects.toMatchObject({ code: 'MERGE_EMPTY' });
    const odd = memoryAdapter('odd', [{ name: modNames[0]!, B: randomMat(11, 2, 1), A: randomMat(2, 8, 2) }]);
    await expect(runMerge(planMerge(recipe()), { outDir: join(dir, 'e2'), adapters: [adapters()[0]!, odd, adapters()[1]!] })).rejects.toMatchObject({
      code: 'MERGE_SHAPE_MISMATCH',
      message: expect.stringContaining(modNames[0]!),
    });
    const other = memoryAdapter('other', [{ name: modNames[0]!, B: randomMat(10, 2, 1), A: randomMat(2, 8, 2) }], { baseModel: 'meta-llama/Llama-2-7b-hf' });
    await expect(runMerge(planMerge(recipe()), { outDir: join(dir, 'e3'), adapters: [adapters()[0]!, other, adapters()[1]!] })).rejects.toMatchObject({
      code: 'MERGE_BASE_MISMATCH',
      message: expect.stringContaining('Llama-2-7b-hf'),
    });
    const ok = await runMerge(planMerge(recipe({ allowBaseMismatch: true })), { outDir: join(dir, 'e4'), adapters: [adapters()[0]!, other, adapters()[1]!] });
    expect(ok.warnings.some((w) => w.includes('different base models'))).toBe(true);
  });

  it('extras: identical ones are carried, conflicting ones come from the first input with a warning', async () => {
    const extra = (key: string, value: number) => ({ key, dtype: 'F32' as const, shape: [1], role: 'modules_to_save', readBytes: async () => new Uint8Array(new Float32Array([value]).buffer) });
    const a = memoryAdapter('a', [{ name: 'lin', B: fromRows([[1]]), A: fromRows([[1]]) }], { extras: [extra('head.same', 1), extra('head.diff', 1)] });
    const b = memoryAdapter('b', [{ name: 'lin', B: fromRows([[2]]), A: fromRows([[1]]) }], { extras: [extra('head.same', 1), extra('head.diff', 2)] });
    const out = join(dir, 'extras');
    const report = await runMerge(planMerge({ method: 'cat', inputs: [{ path: 'a' }, { path: 'b' }] }), { outDir: out, adapters: [a, b] });
    expect(report.extras).toEqual([
      expect.objectContaining({ key: 'head.diff', action: 'carried-from-first', from: 'a' }),
      expect.objectContaining({ key: 'head.same', action: 'carried', from: 'a' }),
    ]);
    expect(report.warnings.some((w) => w.includes('head.diff'))).toBe(true);
    const st = parseSafetensors(new Uint8Array(await readFile(join(out, 'adapter_model.safetensors'))));
    expect(Array.from(await st.readFloat64('head.diff'))).toEqual([1]);
  });
});

describe('real published adapters (fixtures/real)', () => {
  const groups: [string, string, string][] = [
    ['G1', 'gpt2-tigrinya', 'gpt2-anirudh'],
    ['G2', 'distilbert-imdb', 'distilbert-emotion'],
    ['G3', 'gemma3-logo', 'gemma3-svg-main'],
  ];
  for (const [group, x, y] of groups) {
    it(`${group}: ${x} + ${y} merge (svd, lego) into valid, finite PEFT adapters`, async () => {
      for (const method of ['svd', 'lego'] as const) {
        const out = join(dir, `${group}-${method}`);
        const report = await runMerge(
          planMerge({ method, params: method === 'lego' ? { k: 8 } : { rank: 8 }, inputs: [{ path: `fixtures/real/${x}` }, { path: `fixtures/real/${y}`, weight: 0.5 }] }),
          { outDir: out, baseDir: process.cwd() },
        );
        const merged = await loadAdapter(out);
        const a = await loadAdapter(`fixtures/real/${x}`);
        const b = await loadAdapter(`fixtures/real/${y}`);
        const expectedNames = [...new Set([...a.modules, ...b.modules].map((m) => m.name))].sort();
        expect(merged.modules.map((m) => m.name).sort()).toEqual(expectedNames);
        for (const m of merged.modules) {
          const src = a.modules.find((s) => s.name === m.name) ?? b.modules.find((s) => s.name === m.name)!;
          expect([m.outFeatures, m.inFeatures]).toEqual([src.outFeatures, src.inFeatures]);
          expect(m.layout.kind).toBe(src.layout.kind);
          expect(m.scale).toBe(1);
          const f = await m.load();
          expect(f.A.data.every(Number.isFinite) && f.B.data.every(Number.isFinite)).toBe(true);
        }
        expect(report.inputs.every((i) => i.sha256.length > 0 && i.sha256.every((s) => /^[0-9a-f]{64}$/.test(s.sha256)))).toBe(true);
        if (method === 'svd') expect(report.summary.maxRelativeErrorVsExact).toBeLessThan(1);
        await Promise.all([merged.close(), a.close(), b.close()]);
      }
    });
  }
});

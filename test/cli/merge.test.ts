// `awb merge` through main([...], fakeCliIo): recipe and flag forms, --json, errors, Ctrl-C.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import { floatTensor, writeSafetensors } from '../../src/safetensors/writer.ts';
import { loadAdapter } from '../../src/adapter/load-adapter.ts';
import { createRng } from '../../src/util/rng.ts';
import { fakeCliIo } from '../helpers/cli-io.ts';

let dir: string;
async function peftFolder(name: string, seed: number, base = 'tiny/base', r = 4): Promise<void> {
  const rng = createRng(seed);
  const vals = (n: number) => Array.from({ length: n }, () => rng.normal());
  const folder = join(dir, name);
  await mkdir(folder, { recursive: true });
  const tensors = ['model.layers.0.q_proj', 'model.layers.0.v_proj'].flatMap((m) => [
    floatTensor(`base_model.model.${m}.lora_A.weight`, 'F32', [r, 16], vals(r * 16)),
    floatTensor(`base_model.model.${m}.lora_B.weight`, 'F32', [12, r], vals(12 * r)),
  ]);
  await writeSafetensors(join(folder, 'adapter_model.safetensors'), tensors, { format: 'pt' });
  await writeFile(
    join(folder, 'adapter_config.json'),
    JSON.stringify({ peft_type: 'LORA', r, lora_alpha: 2 * r, target_modules: ['q_proj', 'v_proj'], base_model_name_or_path: base, use_rslora: false }),
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'awb-cli-merge-'));
  await peftFolder('A', 1);
  await peftFolder('B', 2);
  await peftFolder('C', 3, 'tiny/base', 2);
  await peftFolder('Other', 4, 'another/model');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('awb merge', () => {
  it('merges with flags: --method lego --k 4 --weights, prints a summary and writes a loadable adapter', async () => {
    const f = fakeCliIo({ cwd: dir });
    const code = await main(['merge', '--method', 'lego', '--k', '4', 'A', 'B', 'C', '--weights', '1,0.5,0.25', '-o', 'out-lego', '--seed', '3'], f.io);
    expect(code, f.err()).toBe(0);
    expect(f.out()).toMatch(/merged 2 modules of 3 inputs with lego → out-lego \(rank 4, F32\)/);
    const merged = await loadAdapter(join(dir, 'out-lego'));
    expect(merged.modules.map((m) => [m.name, m.rank, m.scale])).toEqual([
      ['model.layers.0.q_proj', 4, 1],
      ['model.layers.0.v_proj', 4, 1],
    ]);
    await merged.close();
  });

  it('runs a YAML recipe with paths relative to the recipe, and --json gives NDJSON progress and a JSON result', async () => {
    await writeFile(join(dir, 'r.yaml'), 'method: svd\nparams: {rank: 3}\ninputs:\n  - path: A\n  - path: B\n    weight: -1\noutput: {dtype: BF16}\nseed: 5\n');
    const f = fakeCliIo({ cwd: '/' });
    const code = await main(['merge', join(dir, 'r.yaml'), '-o', join(dir, 'out-svd'), '--json'], f.io);
    expect(code, f.err()).toBe(0);
    const result = JSON.parse(f.out());
    expect(result).toMatchObject({ method: 'svd', seed: 5, output: { rank: 3, dtype: 'BF16', moduleCount: 2 } });
    const events = f.err().trim().split('\n').map((l) => JSON.parse(l));
    expect(events[0]).toMatchObject({ type: 'start', totalModules: 2 });
    expect(events.at(-1)).toMatchObject({ type: 'done' });
    const report = JSON.parse(await readFile(join(dir, 'out-svd', 'merge-report.json'), 'utf8'));
    expect(report.modules).toHaveLength(2);
  });

  it('draws a progress bar on a TTY', async () => {
    const f = fakeCliIo({ cwd: dir, stderrIsTTY: true });
    expect(await main(['merge', '--method', 'cat', 'A', 'B', '-o', 'out-tty'], f.io)).toBe(0);
    expect(f.err()).toContain('2/2');
  });

  it('reports clear errors with codes: unknown method, base mismatch, bad weights', async () => {
    const a = fakeCliIo({ cwd: dir });
    expect(await main(['merge', '--method', 'soup', 'A', 'B', '-o', 'x1'], a.io)).toBe(1);
    expect(a.err()).toContain('MERGE_METHOD_UNKNOWN');
    const b = fakeCliIo({ cwd: dir });
    expect(await main(['merge', '--method', 'cat', 'A', 'Other', '-o', 'x2'], b.io)).toBe(1);
    expect(b.err()).toMatch(/MERGE_BASE_MISMATCH.*another\/model/);
    const c = fakeCliIo({ cwd: dir });
    expect(await main(['merge', '--method', 'cat', 'A', 'B', '--weights', '1', '-o', 'x3'], c.io)).toBe(2);
    expect(c.err()).toContain('INVALID_ARGUMENT');
    const d = fakeCliIo({ cwd: dir });
    expect(await main(['merge', '--method', 'lego', '--k', '0', 'A', 'B', '-o', 'x4'], d.io)).toBe(1);
    expect(d.err()).toContain('MERGE_PARAM_INVALID');
    expect((await readdir(dir)).filter((n) => /^x\d$/.test(n))).toEqual([]);
  });

  it('Ctrl-C (io.signal) leaves no partial output', async () => {
    const controller = new AbortController();
    controller.abort();
    const f = fakeCliIo({ cwd: dir, signal: controller.signal });
    expect(await main(['merge', '--method', 'cat', 'A', 'B', '-o', 'out-abort'], f.io)).toBe(1);
    expect(f.err()).toContain('ABORTED');
    expect((await readdir(dir)).filter((n) => n.includes('out-abort'))).toEqual([]);
  });
});

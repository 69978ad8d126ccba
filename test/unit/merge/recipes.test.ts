// The example recipes in fixtures/recipes parse, plan, and run on the real fixtures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRecipe, planMerge, runMerge } from '../../../src/merge/index.ts';
import { loadAdapter } from '../../../src/adapter/load-adapter.ts';

const folder = join(process.cwd(), 'fixtures/recipes');
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'awb-recipes-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('fixtures/recipes', async () => {
  const files = (await readdir(folder)).filter((f) => f.endsWith('.yaml')).sort();
  it('has the three example recipes', () => {
    expect(files).toEqual(['g1-gpt2-lego.yaml', 'g2-distilbert-svd.yaml', 'g3-gemma-ties.yaml']);
  });
  for (const file of files) {
    it(`${file} runs and gives a loadable adapter`, async () => {
      const plan = planMerge(parseRecipe(await readFile(join(folder, file), 'utf8'), file));
      const out = join(dir, file);
      const report = await runMerge(plan, { outDir: out, baseDir: folder });
      const merged = await loadAdapter(out);
      expect(merged.modules.length).toBe(report.output.moduleCount);
      expect(merged.dtype).toBe(plan.recipe.output.dtype);
      await merged.close();
      if (file.startsWith('g2')) {
        expect(report.extras.length).toBeGreaterThan(0);
        expect(report.extras.every((e) => e.action !== 'dropped')).toBe(true);
      }
      if (file.startsWith('g3')) {
        expect(report.modules.every((m) => /(q_proj|v_proj)$/.test(m.module))).toBe(true);
        expect(report.modules.find((m) => m.module === 'model.layers.1.self_attn.q_proj')!.retention.map((r) => r.weight)).toEqual([1, 0.5]);
      }
    });
  }
});

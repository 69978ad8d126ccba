// The self-contained HTML report, loaded in Debian's Chromium: every chart must render
// (a canvas with a non-zero size, an ECharts instance whose series hold data), the module
// select and the ε slider must work, and the page must make no network request.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { runAnalysis } from '../../src/diagnostics/index.ts';
import { renderHtml } from '../../src/report/index.ts';
import { parseSafetensors } from '../../src/safetensors/reader.ts';
import { floatTensor, serializeSafetensors } from '../../src/safetensors/writer.ts';
import type { Adapter, LoraModule } from '../../src/adapter/types.ts';
import type { Mat } from '../../src/tensor/matrix.ts';
import { randomMat } from '../helpers/random-mat.ts';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && !process.env.CI) {
  console.warn(`report-html e2e skipped: ${CHROMIUM} is absent (apt-get install -y chromium); set CI=1 to make this a failure`);
}

function adapter(name: string, seed: number): Adapter {
  const modules: LoraModule[] = [0, 1].flatMap((layer) =>
    ['q_proj', 'v_proj'].map((type, t) => {
      const B = randomMat(16, 3, seed + 10 * layer + t);
      const A = randomMat(3, 12, seed + 100 + 10 * layer + t);
      return {
        name: `model.layers.${layer}.self_attn.${type}`,
        outFeatures: 16,
        inFeatures: 12,
        rank: 3,
        alpha: 3,
        scale: 0.5,
        layout: { kind: 'linear' as const },
        dtype: 'F64' as const,
        hasDora: false,
        keys: { A: 'a', B: 'b' },
        load: async () => ({ A, B }),
      };
    }),
  );
  return { format: 'memory', name, files: [{ name: `${name}.safetensors`, path: name, sizeBytes: 0, sha256: 'f'.repeat(64) }], baseModel: undefined, config: undefined, modules, extras: [], dtype: 'F64', warnings: [], close: async () => {} };
}

let browser: Browser | undefined;
let dir = '';
beforeAll(async () => {
  if (!haveChromium) return;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  dir = await mkdtemp(join(tmpdir(), 'awb-report-html-'));
});
afterAll(async () => {
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.runIf(haveChromium || process.env.CI)('HTML report in Chromium', () => {
  it('renders every chart offline, and the module select and ε slider update them', async () => {
    const tensors = [0, 1].flatMap((layer) =>
      ['q_proj', 'v_proj'].map((type, t) => floatTensor(`model.layers.${layer}.self_attn.${type}.weight`, 'F64', [16, 12], randomMat(16, 12, 500 + 10 * layer + t).data)),
    );
    const base = parseSafetensors(serializeSafetensors(tensors), 'base');
    const report = await runAnalysis({ adapters: [adapter('alpha', 1), adapter('beta', 2)], base, cacheDir: null, k: 6, epsilons: [0.5] });
    const file = join(dir, 'report.html');
    await writeFile(file, renderHtml(report));
    const page = await browser!.newPage();
    const requests: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) requests.push(r.url());
    });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector('body[data-charts-ready]');
    expect(errors).toEqual([]);
    const charts = await page.evaluate(() => {
      const all = (window as unknown as { __awbCharts: Record<string, { getOption(): { series: { data: unknown[] }[] } }> }).__awbCharts;
      return Object.entries(all).map(([id, c]) => {
        const canvas = document.getElementById(id)!.querySelector('canvas');
        return { id, width: canvas?.width ?? 0, height: canvas?.height ?? 0, points: c.getOption().series.reduce((n, s) => n + (s.data?.length ?? 0), 0) };
      });
    });
    const ids = charts.map((c) => c.id).sort();
    expect(ids).toEqual(['chart-erank', 'chart-heatmap-0', 'chart-heatmap-1', 'chart-overlap', 'chart-projection', 'chart-similarity', 'chart-spectrum', 'chart-sweep']);
    for (const c of charts) {
      expect(c.width, c.id).toBeGreaterThan(0);
      expect(c.height, c.id).toBeGreaterThan(0);
      expect(c.points, c.id).toBeGreaterThan(0);
    }
    // The select box switches the spectrum to another module.
    const title = async (): Promise<string> =>
      page.evaluate(() => (window as unknown as { __awbCharts: Record<string, { getOption(): { title: { text: string }[] } }> }).__awbCharts['chart-spectrum']!.getOption().title[0]!.text);
    const before = await title();
    await page.selectOption('#module-select', '3');
    expect(await title()).not.toBe(before);
    expect(await title()).toContain(report.modules[3]!.module);
    // The ε slider recounts the module's intruders from the stored bounds.
    await page.fill('#eps', '0.95');
    await page.dispatchEvent('#eps', 'input');
    const text = await page.textContent('#eps-count');
    const expected = report.modules[3]!.intruders!.vectors.filter((v) => v.maxCosUpper < 0.95).length;
    expect(text).toContain(`${expected} intruder(s) among the top 6`);
    expect(requests).toEqual([]);
    await page.close();
  });
});

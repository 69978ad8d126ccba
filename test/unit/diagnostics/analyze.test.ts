import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runAnalysis, analyze, type AnalyzeEvent } from '../../../src/diagnostics/index.ts';
import { defaultBackend } from '../../../src/compute/default-backend.ts';
import { exactPoolBytes } from '../../../src/compute/exact-dense-operator.ts';
import { scanModuleIntruders } from '../../../src/diagnostics/intruder-scan.ts';
import { memoryBasisCache } from '../../../src/diagnostics/base-basis.ts';
import { validateReport } from '../../../src/report/schema.ts';
import { parseSafetensors } from '../../../src/safetensors/reader.ts';
import { floatTensor, serializeSafetensors } from '../../../src/safetensors/writer.ts';
import { transpose, type Mat } from '../../../src/tensor/matrix.ts';
import { createRng } from '../../../src/util/rng.ts';
import { memoryAdapter } from './memory-adapter.ts';

function randomMat(rows: number, cols: number, seed: number, amplitude = 1): Mat {
  const rng = createRng(seed);
  return { rows, cols, data: Float64Array.from({ length: rows * cols }, () => amplitude * rng.normal()) };
}

/** A base weight with a decaying spectrum: Σ_i 6·0.7^i x_i y_iᵀ with random x, y. */
function decayingBase(rows: number, cols: number, seed: number): Mat {
  const rng = createRng(seed);
  const out = new Float64Array(rows * cols);
  for (let t = 0; t < Math.min(rows, cols); t++) {
    const x = Array.from({ length: rows }, () => rng.normal() / Math.sqrt(rows));
    const y = Array.from({ length: cols }, () => rng.normal() / Math.sqrt(cols));
    const s = 6 * 0.7 ** t;
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j]! += s * x[i]! * y[j]!;
  }
  return { rows, cols, data: out };
}

const W_q = decayingBase(12, 10, 1);
const W_c = decayingBase(14, 9, 2); // canonical 14×9; a Conv1D base stores it 9×14
const baseBytes = serializeSafetensors([
  floatTensor('model.layers.0.q_proj.weight', 'F64', [12, 10], W_q.data),
  floatTensor('model.layers.0.c_attn.weight', 'F64', [9, 14], transpose(W_c).data),
  floatTensor('model.layers.0.wrong.weight', 'F64', [5, 5], new Float64Array(25)),
]);
const base = () => parseSafetensors(baseBytes, 'memory-base');

const adapterOne = memoryAdapter('one', [
  { name: 'layers.0.q_proj', B: randomMat(12, 2, 3, 0.8), A: randomMat(2, 10, 4, 0.8), scale: 2 },
  { name: 'layers.0.c_attn', B: randomMat(14, 2, 5), A: randomMat(2, 9, 6), scale: 1.5, layout: { kind: 'linear_fan_in_fan_out' } },
  { name: 'layers.0.missing', B: randomMat(4, 1, 7), A: randomMat(1, 4, 8) },
  { name: 'layers.0.wrong', B: randomMat(6, 1, 9), A: randomMat(1, 5, 10) },
]);
const adapterTwo = memoryAdapter('two', [
  { name: 'layers.0.q_proj', B: randomMat(12, 3, 11), A: randomMat(3, 10, 12), scale: 1 },
]);

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('analyze() with a base checkpoint', () => {
  it('matches modules through the model. prefix, transposes the Conv1D base, and reports missing and mis-shaped weights', async () => {
    const report = await runAnalysis({ adapters: [adapterOne], base: base(), cacheDir: null, k: 4, epsilons: [0.5, 0.7], seed: 3 });
    validateReport(JSON.parse(JSON.stringify(report)));
    const byName = new Map(report.modules.map((m) => [m.module, m]));
    expect(byName.get('layers.0.q_proj')!.intruders!.baseTensor).toBe('model.layers.0.q_proj.weight');
    expect(byName.get('layers.0.c_attn')!.intruders!.transposed).toBe(true);
    expect(report.problems.map((p) => [p.code, p.module])).toEqual([
      ['BASE_MODULE_MISSING', 'layers.0.missing'],
      ['BASE_SHAPE_MISMATCH', 'layers.0.wrong'],
    ]);
    expect(report.problems[1]!.message).toContain('[5, 5]');
    // The Conv1D module's counts equal a scan on the canonical (untransposed) W0.
    const c = adapterOne.modules.find((m) => m.name === 'layers.0.c_attn')!;
    const f = await c.load();
    const direct = await scanModuleIntruders(W_c, f.B, f.A, 1.5, { k: 4, epsilons: [0.5, 0.7], sweep: [], seed: 3, route: 'full', cache: memoryBasisCache(), baseKey: 'x' });
    expect(byName.get('layers.0.c_attn')!.intruders!.counts.map((x) => x.intruders)).toEqual(direct.counts.map((x) => x.intruders));
    const totals = report.intruders![0]!;
    expect(totals.modules).toBe(2);
    expect(totals.counts[0]!.intruders).toBe(report.modules.reduce((acc, m) => acc + (m.intruders?.counts[0]!.intruders ?? 0), 0));
    expect(totals.byLayer.map((b) => [b.layer, b.moduleType])).toEqual([[0, 'c_attn'], [0, 'q_proj']]);
    const selected = await defaultBackend();
    expect(report.backend).toContain(`${selected.description.name} — ${selected.description.device}`);
    expect(report.inputs.adapters[0]!.sha256[0]!.sha256).toHaveLength(64);
  });

  it('caches base spectra on disk by the tensor sha256: a second adapter on the same base does no base SVD', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'awb-diag-cache-'));
    dirs.push(dir);
    const first = await runAnalysis({ adapters: [adapterOne], base: base(), cacheDir: dir, k: 4, seed: 3 });
    const firstQ = first.modules.find((m) => m.module === 'layers.0.q_proj')!.intruders!;
    expect(firstQ.base.decompositions).toBeGreaterThan(0);
    // q_proj is tall (12×10): adapterTwo's intruders need the range projector, which adapterOne's
    // did not, so the second run computes only that (once), and a third run computes nothing.
    const second = await runAnalysis({ adapters: [adapterTwo], base: base(), cacheDir: dir, k: 4, seed: 3 });
    const secondQ = second.modules.find((m) => m.module === 'layers.0.q_proj')!.intruders!;
    expect(secondQ.base.fromCache).toBe(true);
    expect((await readdir(dir)).filter((f) => f.endsWith('.range.safetensors')).length).toBeGreaterThan(0);
    const third = await runAnalysis({ adapters: [adapterTwo], base: base(), cacheDir: dir, k: 4, seed: 3 });
    const q = third.modules.find((m) => m.module === 'layers.0.q_proj')!.intruders!;
    expect(q.base.fromCache).toBe(true);
    expect(q.base.decompositions).toBe(0);
    expect(exactPoolBytes()).toBe(0); // an analysis lets its pooled operator copies go when it ends
    expect(q).toEqual({ ...secondQ, base: { ...secondQ.base, decompositions: 0 } });
    const uncached = await runAnalysis({ adapters: [adapterTwo], base: base(), cacheDir: null, k: 4, seed: 3, route: 'full' });
    expect(q.counts.map((x) => x.intruders)).toEqual(uncached.modules[0]!.intruders!.counts.map((x) => x.intruders));
  });

  it('emits progress events in order and stops with ABORTED when the signal fires', async () => {
    const events: AnalyzeEvent['type'][] = [];
    await runAnalysis({ adapters: [adapterOne, adapterTwo], cacheDir: null }, (e) => events.push(e.type));
    expect(events[0]).toBe('start');
    expect(events.at(-1)).toBe('done');
    // Without a base each module reports 'spectrum' then 'done'.
    expect(events.filter((t) => t === 'module').length).toBe(2 * 5);
    const controller = new AbortController();
    const gen = analyze({ adapters: [adapterOne], cacheDir: null, signal: controller.signal });
    await gen.next();
    controller.abort();
    await expect(gen.next()).rejects.toMatchObject({ code: 'ABORTED' });
  });
});

describe('analyze() without a base', () => {
  it('reports spectra, overlap between adapters on common modules, and MSU projections', async () => {
    const report = await runAnalysis({ adapters: [adapterOne, adapterTwo], cacheDir: null });
    expect(report.intruders).toBeNull();
    expect(report.overlaps).toHaveLength(1);
    const pair = report.overlaps[0]!;
    expect(pair.commonModules).toBe(1);
    expect(pair.modules[0]!.unitCosines).toHaveLength(2);
    expect(pair.modules[0]!.unitCosines[0]).toHaveLength(3);
    // Column spaces of a rank-2 and a rank-3 subspace of R^12: cosines in [0, 1].
    for (const c of pair.modules[0]!.column.cosines) expect(c).toBeGreaterThanOrEqual(0), expect(c).toBeLessThanOrEqual(1);
    const proj = report.projections.find((p) => p.module === 'layers.0.q_proj')!;
    expect(proj.points.map((p) => p.adapterIndex)).toEqual([0, 0, 1, 1, 1]);
    expect(proj.explained[0]).toBeGreaterThanOrEqual(proj.explained[1]);
  });
});

describe('real fixture smoke test', () => {
  it('tinygpt2-ih on base-tinygpt2 runs end to end with every module matched (hidden size 2)', async () => {
    const report = await runAnalysis({
      adapters: ['fixtures/real/tinygpt2-ih'],
      base: 'fixtures/real/base-tinygpt2',
      cacheDir: null,
    });
    expect(report.problems).toEqual([]);
    expect(report.modules).toHaveLength(6);
    for (const m of report.modules) {
      expect(m.intruders).not.toBeNull();
      expect(m.intruders!.transposed).toBe(true);
      expect(m.intruders!.vectors.length).toBe(Math.min(m.shape[0], m.shape[1]));
    }
    expect(report.inputs.adapters[0]!.sha256.map((h) => h.file)).toContain('adapter_model.safetensors');
  });
});

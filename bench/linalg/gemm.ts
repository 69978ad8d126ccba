// GEMM throughput per available compute backend, through the Backend interface
// (f64 Mat → f32 upload → product → f64 Mat, so conversion costs are included),
// with the pure-TS f64 GEMM as the same-run baseline.
//
//   node bin/run-ts.js bench/linalg/gemm.ts [--backends wasm,ts,cpu,tensorflow,webgpu] [--sizes 512,1024,2048,4096]
//                                           [--budget-ms 2000] [--panel] [--json FILE]
//
// Method (as substrate.md §0): one warm-up call, then timed calls until the budget is spent (at most 7);
// median and best reported; a first call longer than the budget is the only measurement.
// FLOPs = 2·m·n·k. 4096 only runs on the fast backends (tensorflow, webgpu, wasm); the tfjs `cpu` backend
// stops at 1024 and `ts` at 2048 (each point would take minutes).
// --panel adds the randomized-SVD shape: resident W (4096×4096) times X (4096×74), and Wᵀ times Y.
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { Backend, BackendName } from '../../src/compute/backend.ts';
import { createDenseOperator } from '../../src/compute/dense-operator.ts';
import { selectBackend } from '../../src/compute/select-backend.ts';
import type { Mat } from '../../src/tensor/matrix.ts';
import { createRng } from '../../src/util/rng.ts';
import { TOOL_VERSION } from '../../src/version.ts';

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'tensorflow,webgpu,wasm,cpu,ts' },
    sizes: { type: 'string', default: '512,1024,2048,4096' },
    'budget-ms': { type: 'string', default: '2000' },
    panel: { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const budgetMs = Number(values['budget-ms']);
const sizes = values.sizes.split(',').map(Number);
const MAX_N: Record<BackendName, number> = { tensorflow: 8192, webgpu: 8192, wasm: 4096, cpu: 1024, ts: 2048 };

function randomMat(rows: number, cols: number, seed: number): Mat {
  const rng = createRng(seed);
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = rng.next() * 2 - 1;
  return { rows, cols, data };
}

interface Point {
  backend: string;
  shape: string;
  flops: number;
  calls: number;
  medianMs: number;
  bestMs: number;
  medianGflops: number;
  bestGflops: number;
}

async function time(fn: () => Promise<unknown>, flops: number): Promise<Omit<Point, 'backend' | 'shape'>> {
  const t0 = performance.now();
  await fn();
  const first = performance.now() - t0;
  const samples: number[] = [];
  if (first > budgetMs) {
    samples.push(first);
  } else {
    const start = performance.now();
    while (samples.length < 7 && (samples.length < 2 || performance.now() - start < budgetMs)) {
      const s = performance.now();
      await fn();
      samples.push(performance.now() - s);
    }
  }
  samples.sort((a, b) => a - b);
  const medianMs = samples[Math.floor(samples.length / 2)]!;
  const bestMs = samples[0]!;
  return { flops, calls: samples.length, medianMs, bestMs, medianGflops: flops / medianMs / 1e6, bestGflops: flops / bestMs / 1e6 };
}

console.log(`${cpus()[0]?.model.trim() ?? 'CPU'}, ${cpus().length} cores, Node ${process.version}, load average ${loadavg()[0]!.toFixed(2)}, awb ${TOOL_VERSION}`);
const backends: Backend[] = [];
for (const name of values.backends.split(',')) {
  try {
    backends.push((await selectBackend({ backend: name, env: {} })).backend);
  } catch (error) {
    console.log(`skip ${name}: ${(error as Error).message}`);
  }
}

const points: Point[] = [];
const gf = (x: number): string => x.toFixed(x < 10 ? 2 : 1);
console.log(`${'backend'.padEnd(11)} ${'shape'.padEnd(22)} ${'median GFLOP/s'.padStart(14)} ${'best'.padStart(8)} ${'× ts'.padStart(8)} calls`);
for (const n of sizes) {
  const a = randomMat(n, n, 1);
  const b = randomMat(n, n, 2);
  const row: Point[] = [];
  // ts first: it is the baseline of the ratio column.
  for (const backend of [...backends].sort((x, y) => Number(y.name === 'ts') - Number(x.name === 'ts'))) {
    if (n > MAX_N[backend.name]) continue;
    const p = { backend: backend.description.name, shape: `${n}×${n}·${n}×${n}`, ...(await time(() => backend.matmul(a, b), 2 * n ** 3)) };
    points.push(p);
    row.push(p);
    const ts = row.find((r) => r.backend === 'ts');
    const ratio = ts ? `${(p.medianGflops / ts.medianGflops).toFixed(1)}×` : '–';
    console.log(`${p.backend.padEnd(11)} ${p.shape.padEnd(22)} ${gf(p.medianGflops).padStart(14)} ${gf(p.bestGflops).padStart(8)} ${ratio.padStart(8)} ${p.calls}`);
  }
}

if (values.panel) {
  const n = 4096;
  const l = 74;
  const w = randomMat(n, n, 3);
  const x = randomMat(n, l, 4);
  for (const backend of backends) {
    if (backend.name === 'cpu') continue;
    const op = createDenseOperator(backend, n, n, w.data);
    const apply = { backend: backend.name, shape: `W·X ${n}²·${n}×${l}`, ...(await time(() => op.apply(x), 2 * n * n * l)) };
    const applyT = { backend: backend.name, shape: `Wᵀ·Y ${n}²·${n}×${l}`, ...(await time(() => op.applyTranspose(x), 2 * n * n * l)) };
    op.dispose();
    for (const p of [apply, applyT]) {
      points.push(p);
      console.log(`${p.backend.padEnd(11)} ${p.shape.padEnd(22)} ${gf(p.medianGflops).padStart(14)} ${gf(p.bestGflops).padStart(8)} ${'–'.padStart(8)} ${p.calls}`);
    }
  }
}

console.log(`load average at the end: ${loadavg()[0]!.toFixed(2)}`);
const meta = { tool: TOOL_VERSION, loadAverage: loadavg()[0], node: process.version, backends: backends.map((b) => b.description), budgetMs, date: new Date().toISOString() };
console.log(`ran on: ${backends.map((b) => `${b.name} (${b.description.device}, ${b.description.version})`).join('; ')}`);
if (values.json) writeFileSync(values.json, `${JSON.stringify({ meta, points }, null, 2)}\n`);

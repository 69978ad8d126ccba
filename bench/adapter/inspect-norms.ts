// ‖sBA‖_F: factored (two r×r Gram matrices) against the dense baseline (form B·A, then sum squares),
// measured in the same run; plus loadAdapter + inspectAdapter wall time on the real fixtures.
//   node bin/run-ts.js bench/adapter/inspect-norms.ts
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { factoredFrobeniusNorm } from '../../src/adapter/factored-norm.ts';
import { inspectAdapter } from '../../src/adapter/inspect-adapter.ts';
import { loadAdapter } from '../../src/adapter/load-adapter.ts';
import { frobeniusNorm, matmul, type Mat } from '../../src/tensor/matrix.ts';
import { createRng } from '../../src/util/rng.ts';
import { TOOL_VERSION } from '../../src/version.ts';

const SEED = 7;
const rng = createRng(SEED);
const random = (rows: number, cols: number): Mat => ({ rows, cols, data: Float64Array.from({ length: rows * cols }, () => rng.normal()) });

function time<T>(fn: () => T, repeat: number): { ms: number; value: T } {
  let value = fn();
  const start = performance.now();
  for (let i = 0; i < repeat; i++) value = fn();
  return { ms: (performance.now() - start) / repeat, value };
}

console.log(`adapter-workbench ${TOOL_VERSION} · bench adapter/inspect-norms · seed ${SEED} · compute: ts (f64, single thread)`);
console.log('| m×n | r | dense B·A then ‖·‖ (ms) | factored (ms) | speed-up | rel. diff |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const [m, n, r] of [[768, 768, 8], [2048, 2048, 16], [2304, 768, 8], [4096, 1024, 64]] as const) {
  const A = random(r, n);
  const B = random(m, r);
  const dense = time(() => frobeniusNorm(matmul(B, A)), 2);
  const factored = time(() => factoredFrobeniusNorm(A, B, 1), 20);
  const rel = Math.abs(dense.value - factored.value) / dense.value;
  console.log(`| ${m}×${n} | ${r} | ${dense.ms.toFixed(1)} | ${factored.ms.toFixed(3)} | ${(dense.ms / factored.ms).toFixed(0)}× | ${rel.toExponential(1)} |`);
}

const ROOT = join(import.meta.dirname, '..', '..', 'fixtures', 'real');
console.log('\n| fixture | size (MB) | modules | loadAdapter (ms) | inspectAdapter (ms) |');
console.log('|---|---:|---:|---:|---:|');
for (const name of readdirSync(ROOT).sort()) {
  if (name.endsWith('.md') || name === 'base-tinygpt2') continue;
  const t0 = performance.now();
  const adapter = await loadAdapter(join(ROOT, name), { allowNonFinite: true });
  const t1 = performance.now();
  const report = await inspectAdapter(adapter);
  const t2 = performance.now();
  const mb = adapter.files.reduce((s, f) => s + f.sizeBytes, 0) / 1e6;
  console.log(`| ${name} | ${mb.toFixed(2)} | ${report.summary.moduleCount} | ${(t1 - t0).toFixed(0)} | ${(t2 - t1).toFixed(0)} |`);
  await adapter.close();
}

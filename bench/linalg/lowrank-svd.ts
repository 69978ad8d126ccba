// Bench (a): exact SVD of the sum of 8 rank-16 LoRAs on a 4096×4096 module.
// Factored path (lowRankSvd: two tall QRs + a 128×128 core) vs densify-then-full-SVD in numpy
// (LAPACK gesdd, f64), measured in the same invocation. Goal: ≥ 100× faster, σ within 1e-4 relative.
//   node bin/run-ts.js bench/linalg/lowrank-svd.ts [--m 4096] [--n 4096] [--adapters 8] [--rank 16]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lowRankSvd } from '../../src/linalg/low-rank-svd.ts';
import type { LowRankTerm } from '../../src/linalg/low-rank-svd.ts';
import { createRng } from '../../src/util/rng.ts';
import { bestOf, machineLine, runNumpyBaseline } from './util.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const m = arg('m', 4096);
const n = arg('n', 4096);
const adapters = arg('adapters', 8);
const rank = arg('rank', 16);
const seed = 20261124;
const rng = createRng(seed);
// LoRA-like factors: A ~ N(0, 1/n) (kaiming-ish), B small and trained-looking, per-adapter scales.
const terms: LowRankTerm[] = [];
for (let t = 0; t < adapters; t++) {
  const B = { rows: m, cols: rank, data: new Float64Array(m * rank) };
  const A = { rows: rank, cols: n, data: new Float64Array(rank * n) };
  for (let i = 0; i < B.data.length; i++) B.data[i] = 0.02 * rng.normal();
  for (let i = 0; i < A.data.length; i++) A.data[i] = rng.normal() / Math.sqrt(n);
  terms.push({ B, A, weight: (t % 2 === 0 ? 1 : -0.5) * 2 });
}

console.log(`# exact SVD of Σ w_i·B_i·A_i: ${adapters} adapters of rank ${rank} on ${m}×${n} (R = ${adapters * rank})`);
console.log(`# ${machineLine()}, seed ${seed}`);
const factored = await bestOf(3, () => lowRankSvd(terms));
console.log(`factored lowRankSvd (TS, f64): best ${factored.ms.toFixed(1)} ms of [${factored.all.map((x) => x.toFixed(0)).join(', ')}], kept rank ${factored.result.S.length}`);

const dir = mkdtempSync(join(tmpdir(), 'awb-bench-'));
try {
  const parts: Float64Array[] = [];
  for (const t of terms) parts.push(t.B.data, t.A.data);
  const total = parts.reduce((s, p) => s + p.length, 0);
  const all = new Float64Array(total);
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  writeFileSync(join(dir, 'factors.f64'), new Uint8Array(all.buffer));
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({ m, n, ranks: terms.map((t) => t.B.cols), weights: terms.map((t) => t.weight) }));
  const base = runNumpyBaseline('lowrank-sum', dir);
  if (base !== undefined) {
    const S = base.S as number[];
    let worst = 0;
    S.forEach((ref, i) => {
      worst = Math.max(worst, Math.abs((factored.result.S[i] ?? 0) - ref) / ref);
    });
    const ratio = (base.totalMs as number) / factored.ms;
    console.log(`numpy ${base.numpy as string} densify + svd (gesdd, f64): ${(base.totalMs as number).toFixed(0)} ms (densify ${(base.densifyMs as number).toFixed(0)} ms, svd ${(base.svdMs as number).toFixed(0)} ms), dense tail σ_max ${(base.tailMax as number).toExponential(2)}`);
    console.log(`speedup factored vs dense: ${ratio.toFixed(0)}× (goal ≥ 100×); max relative σ difference over ${S.length} values: ${worst.toExponential(2)} (goal ≤ 1e-4)`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

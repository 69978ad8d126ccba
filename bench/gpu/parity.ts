// CPU/GPU parity: every loaded backend against the pure-TS f64 oracle, with the same stated
// tolerances as test/unit/compute/backend-parity.test.ts, at sizes a GPU is actually used for.
// Exit status 1 when any backend is outside tolerance; prints whether any GPU backend ran.
//
//   node bin/run-ts.js bench/gpu/parity.ts [--backends tensorflow,webgpu,wasm] [--n 1024] [--json FILE]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Backend } from '../../src/compute/backend.ts';
import { createDenseOperator } from '../../src/compute/dense-operator.ts';
import { createTsBackend } from '../../src/compute/ts-backend.ts';
import { lowRankOperator } from '../../src/compute/low-rank-operator.ts';
import { sumOperator } from '../../src/compute/sum-operator.ts';
import { randomizedSvd } from '../../src/linalg/randomized-svd.ts';
import { gaussian, loadBackends, machineLine, maxRelative, relativeFrobenius } from './common.ts';

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'tensorflow,webgpu,wasm' },
    n: { type: 'string', default: '1024' },
    json: { type: 'string' },
  },
});
const n = Number(values.n);
console.log(machineLine());
const backends = await loadBackends(values.backends.split(','));
const ts = createTsBackend();
const gpus = backends.filter((b) => b.description.isGpu);
console.log(gpus.length === 0 ? 'GPU backends found: none (only CPU tiers are checked)' : `GPU backends found: ${gpus.map((b) => `${b.name} (${b.description.device})`).join(', ')}`);

/** f32 tolerance for a length-K reduction: 32·√K·2⁻²⁴ (random data: errors add like a random walk). */
const tol = (b: Backend, k: number): number => 32 * Math.sqrt(k) * b.epsilon + 8 * b.epsilon;

interface Check { backend: string; check: string; error: number; tolerance: number; pass: boolean }
const checks: Check[] = [];
function record(backend: Backend, check: string, error: number, tolerance: number): void {
  const pass = error <= tolerance;
  checks.push({ backend: backend.name, check, error, tolerance, pass });
  console.log(`${pass ? 'ok  ' : 'FAIL'} ${backend.name.padEnd(11)} ${check.padEnd(40)} error ${error.toExponential(2)} ≤ ${tolerance.toExponential(2)}`);
}

const a = gaussian(n, n, 1);
const b = gaussian(n, n, 2);
const small = [gaussian(300, 200, 3), gaussian(200, 150, 4)] as const;
const W0 = gaussian(n, n, 5, 1 / Math.sqrt(n));
const B = gaussian(n, 8, 6, 1 / Math.sqrt(n));
const A = gaussian(8, n, 7, 1 / Math.sqrt(n));
const X = gaussian(n, 40, 8);
const ref = {
  square: await ts.matmul(a, b),
  nn: await ts.matmul(small[0], small[1]),
  tn: await ts.matmul(small[1], small[1], { transposeA: true }),
  nt: await ts.matmul(small[0], small[0], { transposeB: true }),
  apply: await createDenseOperator(ts, n, n, W0.data).apply(X),
  applyT: await createDenseOperator(ts, n, n, W0.data).applyTranspose(X),
  sigma: (await randomizedSvd(sumOperator(createDenseOperator(ts, n, n, W0.data), lowRankOperator(B, A, 6)), { rank: 8, seed: 42 })).S,
};
for (const backend of backends) {
  record(backend, `matmul ${n}×${n}·${n}×${n}`, relativeFrobenius(await backend.matmul(a, b), ref.square), tol(backend, n));
  record(backend, 'matmul 300×200·200×150', relativeFrobenius(await backend.matmul(small[0], small[1]), ref.nn), tol(backend, 200));
  record(backend, 'matmul (200×150)ᵀ·200×150', relativeFrobenius(await backend.matmul(small[1], small[1], { transposeA: true }), ref.tn), tol(backend, 200));
  record(backend, 'matmul 300×200·(300×200)ᵀ', relativeFrobenius(await backend.matmul(small[0], small[0], { transposeB: true }), ref.nt), tol(backend, 200));
  const op = createDenseOperator(backend, n, n, W0.data);
  record(backend, `resident W·X (${n}×40)`, relativeFrobenius(await op.apply(X), ref.apply), tol(backend, n));
  record(backend, `resident Wᵀ·Y (${n}×40)`, relativeFrobenius(await op.applyTranspose(X), ref.applyT), tol(backend, n));
  op.dispose();
  const sum = sumOperator(createDenseOperator(backend, n, n, W0.data), lowRankOperator(B, A, 6));
  const sigma = (await randomizedSvd(sum, { rank: 8, seed: 42 })).S;
  sum.dispose?.();
  // Six f32 products feed each σ: allow six times the product tolerance.
  record(backend, 'top-8 σ of W0 + 6·B·A (randomized SVD)', maxRelative(sigma, ref.sigma), 6 * tol(backend, n));
}
const failed = checks.filter((c) => !c.pass);
console.log(failed.length === 0 ? `parity: all ${checks.length} checks passed` : `parity: ${failed.length} of ${checks.length} checks FAILED`);
if (values.json) writeFileSync(values.json, `${JSON.stringify({ machine: machineLine(), gpus: gpus.map((g) => g.description), checks }, null, 2)}\n`);
process.exitCode = failed.length === 0 ? 0 : 1;

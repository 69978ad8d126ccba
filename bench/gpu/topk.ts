// Top-k singular values of W0 + s·B·A through the operator path (W0 resident on the backend,
// the adapter in factored form), per backend, with the pure-TS backend as the same-run baseline.
//
//   node bin/run-ts.js bench/gpu/topk.ts [--backends tensorflow,webgpu,wasm,ts] [--n 4096] [--k 16,64] [--rank 16] [--json FILE]
//
// W0 is Gaussian/√n (spectrum in [0, 2]); the adapter has singular values ~4–8, so the top-k are
// separated and every backend must agree to f32 accuracy. Times include the one upload of W0 (and
// the one on-backend transpose for Wᵀ).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createDenseOperator } from '../../src/compute/dense-operator.ts';
import { lowRankOperator } from '../../src/compute/low-rank-operator.ts';
import { sumOperator } from '../../src/compute/sum-operator.ts';
import { randomizedSvd } from '../../src/linalg/randomized-svd.ts';
import { gaussian, loadBackends, machineLine, maxRelative, timeOnce } from './common.ts';

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'tensorflow,webgpu,wasm,ts' },
    n: { type: 'string', default: '4096' },
    k: { type: 'string', default: '16,64' },
    rank: { type: 'string', default: '16' },
    json: { type: 'string' },
  },
});
const n = Number(values.n);
const r = Number(values.rank);
const ks = values.k.split(',').map(Number);
console.log(machineLine());
const backends = await loadBackends(values.backends.split(','));
const W0 = gaussian(n, n, 1, 1 / Math.sqrt(n));
const B = gaussian(n, r, 2, 1 / Math.sqrt(n));
const A = gaussian(r, n, 3, 1 / Math.sqrt(n));
const scale = 6;

interface Row { backend: string; k: number; ms: number; sigma: number[]; maxRelVsTs: number | null }
const rows: Row[] = [];
const reference = new Map<number, Float64Array>();
// ts first when present: it is the baseline of the time ratio and the parity reference.
for (const backend of [...backends].sort((x, y) => Number(y.name === 'ts') - Number(x.name === 'ts'))) {
  for (const k of ks) {
    const { ms, result } = await timeOnce(async () => {
      const op = sumOperator(createDenseOperator(backend, n, n, W0.data), lowRankOperator(B, A, scale));
      try {
        return await randomizedSvd(op, { rank: k, oversample: 10, powerIterations: 2, seed: 42 });
      } finally {
        op.dispose?.();
      }
    });
    if (backend.name === 'ts') reference.set(k, result.S);
    const ref = reference.get(k);
    const row = { backend: backend.name, k, ms, sigma: Array.from(result.S.slice(0, 4)), maxRelVsTs: ref ? maxRelative(result.S, ref) : null };
    rows.push(row);
    const tsRow = rows.find((x) => x.backend === 'ts' && x.k === k);
    const ratio = tsRow ? `${(tsRow.ms / ms).toFixed(1)}× ts` : '';
    console.log(
      `${backend.name.padEnd(11)} n=${n} k=${String(k).padEnd(3)} ${ms.toFixed(0).padStart(7)} ms  ${ratio.padEnd(10)} σ1..4 = ${row.sigma.map((s) => s.toFixed(4)).join(', ')}` +
        (row.maxRelVsTs === null ? '' : `  max rel Δσ vs ts ${row.maxRelVsTs.toExponential(1)}`),
    );
  }
}
if (values.json) writeFileSync(values.json, `${JSON.stringify({ machine: machineLine(), n, rank: r, rows }, null, 2)}\n`);

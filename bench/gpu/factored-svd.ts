// Exact SVD of adapters from their factors (src/linalg/low-rank-svd.ts): no m×n matrix, O((m+n)·R²).
// Runs in f64 TypeScript on every machine; on a GPU machine it measures that machine's CPU, for comparison
// with the operator path of topk.ts.
//
//   node bin/run-ts.js bench/gpu/factored-svd.ts [--shapes 4096x4096,4096x14336] [--ranks 16,64] [--json FILE]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { lowRankSvd } from '../../src/linalg/low-rank-svd.ts';
import { gaussian, machineLine, timeOnce } from './common.ts';

const { values } = parseArgs({
  options: {
    shapes: { type: 'string', default: '4096x4096,4096x14336' },
    ranks: { type: 'string', default: '16,64' },
    json: { type: 'string' },
  },
});
console.log(machineLine());
const rows: { m: number; n: number; rank: number; terms: number; ms: number; sigma1: number }[] = [];
for (const shape of values.shapes.split(',')) {
  const [m, n] = shape.split('x').map(Number) as [number, number];
  for (const rank of values.ranks.split(',').map(Number)) {
    // One adapter of this rank, then a merge of four adapters of rank/4 (same total rank).
    for (const terms of [1, 4]) {
      const r = Math.max(1, Math.floor(rank / terms));
      const factors = Array.from({ length: terms }, (_, i) => ({ B: gaussian(m, r, 10 + i), A: gaussian(r, n, 20 + i), weight: 1 / terms }));
      const { ms, result } = await timeOnce(() => lowRankSvd(factors));
      rows.push({ m, n, rank: r * terms, terms, ms, sigma1: result.S[0] ?? 0 });
      console.log(`factored SVD ${m}×${n}, ${terms} term(s) of rank ${r}: ${ms.toFixed(1)} ms (σ1 = ${(result.S[0] ?? 0).toFixed(2)})`);
    }
  }
}
if (values.json) writeFileSync(values.json, `${JSON.stringify({ machine: machineLine(), rows }, null, 2)}\n`);

// Cross-check against numpy (fixtures/golden/merge/make_golden.py): exact sum, svd
// truncation, TIES and magnitude prune (PEFT per-tensor semantics), FedAvg bias.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fromRows } from '../../../src/tensor/matrix.ts';
import { lowRankSvd } from '../../../src/linalg/low-rank-svd.ts';
import { maxAbsDiff, moduleInput, product, runMethod } from './helpers.ts';

interface G {
  inputs: { B: number[][]; A: number[][]; scale: number; weight: number }[];
  exact: number[][];
  singularValues: number[];
  svdRank2: number[][];
  tiesDensity04: number[][];
  magnitudePruneDensity04: number[][];
  fedClients: G['inputs'];
  fedavgProduct: number[][];
  fedavgBias: number;
}
const golden = JSON.parse(readFileSync(new URL('../../../fixtures/golden/merge/merge-golden.json', import.meta.url), 'utf8')) as G;
const ins = (list: G['inputs']) => list.map((x, i) => moduleInput(i, fromRows(x.B), fromRows(x.A), { scale: x.scale, weight: x.weight }));

describe('numpy golden', () => {
  it('cat reproduces the exact weighted sum (1e-12)', async () => {
    const r = await runMethod('cat', ins(golden.inputs));
    expect(maxAbsDiff(product(r.B, r.A), golden.exact)).toBeLessThan(1e-12);
  });
  it('singular values of the sum and the rank-2 svd merge match numpy (1e-10)', async () => {
    const r = await runMethod('svd', ins(golden.inputs), { rank: 2 });
    expect(maxAbsDiff(product(r.B, r.A), golden.svdRank2)).toBeLessThan(1e-10);
    const full = await runMethod('cat', ins(golden.inputs));
    const s = lowRankSvd([{ B: full.B, A: full.A, weight: 1 }]).S;
    golden.singularValues.forEach((v, i) => expect(Math.abs(s[i]! - v)).toBeLessThan(1e-10));
  });
  it('ties and magnitude_prune at density 0.4, re-factored at full rank, match numpy (1e-9)', async () => {
    const t = await runMethod('ties', ins(golden.inputs), { density: 0.4, rank: 6 });
    expect(maxAbsDiff(product(t.B, t.A), golden.tiesDensity04)).toBeLessThan(1e-9);
    const m = await runMethod('magnitude_prune', ins(golden.inputs), { density: 0.4, rank: 6 });
    expect(maxAbsDiff(product(m.B, m.A), golden.magnitudePruneDensity04)).toBeLessThan(1e-9);
  });
  it('fedavg factors and aggregation bias match numpy (1e-10)', async () => {
    const r = await runMethod('fedavg', ins(golden.fedClients));
    expect(maxAbsDiff(product(r.B, r.A), golden.fedavgProduct)).toBeLessThan(1e-10);
    expect(Math.abs((r.details.aggregationBias as number) - golden.fedavgBias)).toBeLessThan(1e-10);
  });
});

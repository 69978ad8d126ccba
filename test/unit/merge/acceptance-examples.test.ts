// algorithms.md §7 examples A2–A8 and A11, hand-checkable values copied from the spec.
import { describe, expect, it } from 'vitest';
import { fromRows } from '../../../src/tensor/matrix.ts';
import { combineTasks, pruneMagnitude, pruneRandom } from '../../../src/merge/kernels/task-arithmetic.ts';
import { lowRankSvd } from '../../../src/linalg/low-rank-svd.ts';
import { createRng } from '../../../src/util/rng.ts';
import { expectClose, moduleInput, product, runMethod } from './helpers.ts';

// A1: adapter 1 (r=2, α=4, s=2), adapter 2 (r=2, α=2, s=1).
const B1 = fromRows([[1, 0], [0, 1]]);
const A1 = fromRows([[1, 0, 0], [0, 1, 0]]);
const B2 = fromRows([[0, 1], [1, 0]]);
const A2 = fromRows([[0, 0, 1], [1, 0, 0]]);
const inputs = (w1 = 1, w2 = 1) => [moduleInput(0, B1, A1, { scale: 2, weight: w1 }), moduleInput(1, B2, A2, { scale: 1, weight: w2 })];

describe('A2 — cat is the exact weighted sum', () => {
  it('gives rank 4 and B′A′ = [[3,0,0],[0,2,1]]', async () => {
    const r = await runMethod('cat', inputs());
    expect(r.A.rows).toBe(4);
    expectClose(product(r.B, r.A), [[3, 0, 0], [0, 2, 1]], 1e-12);
  });
  it('linear (exact) equals cat and recompresses only when asked', async () => {
    const r = await runMethod('linear', inputs());
    expect(r.A.rows).toBe(4);
    expectClose(product(r.B, r.A), [[3, 0, 0], [0, 2, 1]], 1e-12);
    const c = await runMethod('linear', inputs(), { rank: 2 });
    expect(c.A.rows).toBe(2);
    expectClose(product(c.B, c.A), [[3, 0, 0], [0, 2, 1]], 1e-10);
  });
});

describe('A3 — PEFT factor-wise linear has cross terms', () => {
  it('weights [1,1] give [[3,√2,√2],[2√2,2,1]]', async () => {
    const r = await runMethod('linear_peft_factorwise', inputs(1, 1));
    expectClose(product(r.B, r.A), [[3, 1.414214, 1.414214], [2.828427, 2, 1]], 1e-6);
  });
  it('weights [1,−1] give [[1,√2,−√2],[0,2,−1]] instead of the exact [[1,0,0],[0,2,−1]]', async () => {
    const r = await runMethod('linear_peft_factorwise', inputs(1, -1));
    expectClose(product(r.B, r.A), [[1, 1.414214, -1.414214], [0, 2, -1]], 1e-6);
    const exact = await runMethod('cat', inputs(1, -1));
    expectClose(product(exact.B, exact.A), [[1, 0, 0], [0, 2, -1]], 1e-12);
  });
});

describe('A4 — svd combination', () => {
  it('has singular values [3, √5] and rank 2 reproduces M', async () => {
    const svd = lowRankSvd([{ B: fromRows([[2, 0, 0, 1], [0, 2, 1, 0]]), A: fromRows([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]]), weight: 1 }]);
    expect(svd.S[0]).toBeCloseTo(3, 10);
    expect(svd.S[1]).toBeCloseTo(2.236068, 6);
    const r = await runMethod('svd', inputs(), { rank: 2 });
    expectClose(product(r.B, r.A), [[3, 0, 0], [0, 2, 1]], 1e-10);
  });
  it('rank 1 keeps [[3,0,0],[0,0,0]]', async () => {
    const r = await runMethod('svd', inputs(), { rank: 1 });
    expectClose(product(r.B, r.A), [[3, 0, 0], [0, 0, 0]], 1e-10);
  });
  it('peftCompat legacy-5d602fd applies the scale twice: M = [[5,0,0],[0,4,1]], σ = [5, √17]', async () => {
    const r = await runMethod('svd', inputs(), { rank: 2, peftCompat: 'legacy-5d602fd' });
    expectClose(product(r.B, r.A), [[5, 0, 0], [0, 4, 1]], 1e-10);
    const svd = lowRankSvd([{ B: r.B, A: r.A, weight: 1 }]);
    expect(svd.S[0]).toBeCloseTo(5, 9);
    expect(svd.S[1]).toBeCloseTo(4.123106, 6);
  });
  it('energy threshold picks the smallest rank reaching it', async () => {
    // σ² = [9, 5]: 9/14 = 0.643 → energy 0.6 keeps rank 1, 0.7 keeps rank 2.
    expect((await runMethod('svd', inputs(), { energy: 0.6 })).A.rows).toBe(1);
    expect((await runMethod('svd', inputs(), { energy: 0.7 })).A.rows).toBe(2);
  });
});

describe('A5 — TIES and magnitude prune (PEFT per-tensor semantics, density 0.5)', () => {
  const taus = () => [Float64Array.from([3, -1, 0.5, 2]), Float64Array.from([-2, -2, 1, 0.1]), Float64Array.from([1, 0.5, -3, 0.2])];
  it('trims to [3,0,0,2], [−2,−2,0,0], [1,0,−3,0]', () => {
    const t = taus();
    t.forEach((x) => pruneMagnitude(x, 0.5));
    expect(t.map((x) => Array.from(x))).toEqual([[3, 0, 0, 2], [-2, -2, 0, 0], [1, 0, -3, 0]]);
  });
  it('TIES weights [1,1,1] → [2,−2,−3,2]; [1,1,2] → [2.5,−2,−6,2]', () => {
    for (const [w, expected] of [
      [[1, 1, 1], [2, -2, -3, 2]],
      [[1, 1, 2], [2.5, -2, -6, 2]],
    ] as const) {
      const t = taus();
      t.forEach((x) => pruneMagnitude(x, 0.5));
      const out = new Float64Array(4);
      combineTasks(t, w, { consensus: 'total', zeroSign: 'plus' }, out);
      expectClose([Array.from(out)], [[...expected]], 1e-12);
    }
  });
  it('magnitude_prune weights [1,1,2] → [3,−2,−6,2]', () => {
    const t = taus();
    t.forEach((x) => pruneMagnitude(x, 0.5));
    const out = new Float64Array(4);
    combineTasks(t, [1, 1, 2], { consensus: 'none', zeroSign: 'plus' }, out);
    expectClose([Array.from(out)], [[3, -2, -6, 2]], 1e-12);
  });
  it('the ties method on rank-one 1×4 deltas reproduces the kernel result through the re-factoring', async () => {
    const rows = [[3, -1, 0.5, 2], [-2, -2, 1, 0.1], [1, 0.5, -3, 0.2]];
    const ins = rows.map((row, i) => moduleInput(i, fromRows([[1]]), fromRows([row]), { weight: [1, 1, 2][i] }));
    const r = await runMethod('ties', ins, { density: 0.5, rank: 1 });
    expectClose(product(r.B, r.A), [[2.5, -2, -6, 2]], 1e-9);
    const mp = await runMethod('magnitude_prune', ins, { density: 0.5, rank: 1 });
    expectClose(product(mp.B, mp.A), [[3, -2, -6, 2]], 1e-9);
  });
});

describe('A6 — sign election methods', () => {
  const t = () => [Float64Array.from([-5, 1]), Float64Array.from([1, 1]), Float64Array.from([1, -1])];
  it('"total" elects [−,+] → [−5, 1]', () => {
    const out = new Float64Array(2);
    combineTasks(t(), [1, 1, 1], { consensus: 'total', zeroSign: 'plus' }, out);
    expectClose([Array.from(out)], [[-5, 1]], 1e-12);
  });
  it('"frequency" elects [+,+] → [1, 1]', () => {
    const out = new Float64Array(2);
    combineTasks(t(), [1, 1, 1], { consensus: 'frequency', zeroSign: 'plus' }, out);
    expectClose([Array.from(out)], [[1, 1]], 1e-12);
  });
});

describe('A7 — a zero elected sign', () => {
  it('PEFT maps it to + (result 2); tiesOfficial keeps negatives (result −2)', async () => {
    const out = new Float64Array(1);
    combineTasks([Float64Array.from([2]), Float64Array.from([-2])], [1, 1], { consensus: 'total', zeroSign: 'plus' }, out);
    expect(out[0]).toBe(2);
    combineTasks([Float64Array.from([2]), Float64Array.from([-2])], [1, 1], { consensus: 'total', zeroSign: 'tiesOfficial' }, out);
    expect(out[0]).toBe(-2);
    const ins = [moduleInput(0, fromRows([[1]]), fromRows([[2]])), moduleInput(1, fromRows([[1]]), fromRows([[-2]]))];
    const plus = await runMethod('ties', ins, { density: 1, rank: 1 });
    expectClose(product(plus.B, plus.A), [[2]], 1e-12);
    const official = await runMethod('ties', ins, { density: 1, rank: 1, zeroSign: 'tiesOfficial' });
    expectClose(product(official.B, official.A), [[-2]], 1e-12);
  });
});

describe('A8 — DARE with an injected mask', () => {
  it('τ = [4,−2,6,1], density 0.5, mask [1,0,1,0], rescale → [8,0,12,0]', () => {
    const tau = Float64Array.from([4, -2, 6, 1]);
    pruneRandom(tau, 0.5, true, createRng(1), [1, 0, 1, 0]);
    expect(Array.from(tau)).toEqual([8, 0, 12, 0]);
  });
  it('the seeded random mask keeps about density of the entries and rescales them', () => {
    const tau = new Float64Array(10_000).fill(1);
    pruneRandom(tau, 0.3, true, createRng(7));
    const kept = tau.filter((v) => v !== 0);
    expect(Math.abs(kept.length / 10_000 - 0.3)).toBeLessThan(0.02);
    expect(kept.every((v) => Math.abs(v - 1 / 0.3) < 1e-12)).toBe(true);
  });
});

describe('A11 — LoRA-LEGO', () => {
  // Units (b; a): u1 = ([1,0];[1,0]), u2 = ([0,1];[0,1]), u3 = ([1,0];[0.6,0.8]), u4 = ([0,2];[0,2]).
  const lego = (u4sign = 1) => [
    moduleInput(0, fromRows([[1, 0], [0, 1]]), fromRows([[1, 0], [0, 1]])),
    moduleInput(1, fromRows([[1, 0], [0, 2 * u4sign]]), fromRows([[0.6, 0.8], [0, 2 * u4sign]])),
  ];
  const base = { k: 2, init: 'firstK', paramReweight: 'none', outputReweight: 'none' };
  const cases: [string, Record<string, unknown>, number[][]][] = [
    ['no reweighting', {}, [[0.8, 0.4], [0, 2.25]]],
    ['l2Concat', { paramReweight: 'l2Concat' }, [[0.888889, 0.444444], [0, 2.25]]],
    ['linfConcat (nsc parity)', { paramReweight: 'linfConcat' }, [[0.8, 0.4], [0, 2.25]]],
    ['l2Parts', { paramReweight: 'l2Parts' }, [[0.894427, 0.447214], [0, 2.25]]],
    ['sqrtRank with r_ref = k = 2 (factor 1)', { outputReweight: 'sqrtRank' }, [[0.8, 0.4], [0, 2.25]]],
    ['k = 4 = pool size: exact concatenation', { k: 4 }, [[1.6, 0.8], [0, 5]]],
    ['k = 4 with sqrtRank: × √(2/4)', { k: 4, outputReweight: 'sqrtRank' }, [[1.131371, 0.565685], [0, 3.535534]]],
  ];
  for (const [title, params, expected] of cases) {
    it(`${title} → ${JSON.stringify(expected)}`, async () => {
      const r = await runMethod('lego', lego(), { ...base, ...params });
      expectClose(product(r.B, r.A), expected, 1e-6);
    });
    it(`${title}: unchanged when u4 is replaced by (−b, −a) under the canonical feature`, async () => {
      const r = await runMethod('lego', lego(-1), { ...base, ...params });
      expectClose(product(r.B, r.A), expected, 1e-6);
    });
  }
  it('labels [0,1,0,1] and cluster sizes [2,2] after one update', async () => {
    const r = await runMethod('lego', lego(), base);
    expect(r.details.clusterSizes).toEqual([2, 2]);
    expect(Object.values(r.details.assignment as Record<string, number>)).toEqual([0, 1, 0, 1]);
  });
  it('under msuFeature "raw" the flipped u4 changes the clustering (documented non-invariance)', async () => {
    const raw = await runMethod('lego', lego(1), { ...base, msuFeature: 'raw' });
    const flipped = await runMethod('lego', lego(-1), { ...base, msuFeature: 'raw' });
    expectClose(product(raw.B, raw.A), [[0.8, 0.4], [0, 2.25]], 1e-6);
    const diff = Math.max(...product(flipped.B, flipped.A).flat().map((v, i) => Math.abs(v - [0.8, 0.4, 0, 2.25][i]!)));
    expect(diff).toBeGreaterThan(0.1);
  });
});

describe('A24 — svd_clamp quantile (torch linear interpolation)', () => {
  it('q = 0.8 over [−3,−1,0,1,2,10] gives hi = 2 and clamps to [−2,−1,0,1,2,2]; q = 0.9 gives 6', async () => {
    const { quantileLinear, clampSymmetric } = await import('../../../src/merge/kernels/quantile.ts');
    const values = [-3, -1, 0, 1, 2, 10];
    expect(quantileLinear(values, 0.8)).toBeCloseTo(2, 12);
    const x = Float64Array.from(values);
    clampSymmetric(x, quantileLinear(values, 0.8));
    expect(Array.from(x)).toEqual([-2, -1, 0, 1, 2, 2]);
    expect(quantileLinear(values, 0.9)).toBeCloseTo(6, 12);
  });
  it('svd with clamp bounds every factor entry by the reported quantile; clamp 1 changes nothing', async () => {
    const r = await runMethod('svd', inputs(), { rank: 2, clamp: 0.5 });
    const bound = r.details.clampBound as number;
    expect([...r.B.data, ...r.A.data].every((v) => Math.abs(v) <= bound + 1e-15)).toBe(true);
    const full = await runMethod('svd', inputs(), { rank: 2, clamp: 1 });
    expectClose(product(full.B, full.A), [[3, 0, 0], [0, 2, 1]], 1e-10);
  });
});

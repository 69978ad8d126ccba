// A25-style invariants of the merge methods, on seeded random adapters.
import { describe, expect, it } from 'vitest';
import { maxAbsDiff, moduleInput, product, randomMat, runMethod } from './helpers.ts';
import { matmul, toRows } from '../../../src/tensor/matrix.ts';

const m = 12;
const n = 9;
const make = (seed: number, r: number, scale: number, weight: number) => moduleInput(seed, randomMat(m, r, seed * 2 + 1), randomMat(r, n, seed * 2 + 2), { scale, weight });
const three = () => [make(0, 4, 2, 1), make(1, 3, 0.5, -0.7), make(2, 4, 1, 0.3)];
const exactSum = (ins: ReturnType<typeof three>) => {
  const out = Array.from({ length: m }, () => new Array<number>(n).fill(0));
  for (const i of ins) toRows(matmul(i.B, i.A)).forEach((row, a) => row.forEach((v, b) => (out[a]![b]! += i.weight * i.scale * v)));
  return out;
};

describe('merge invariants', () => {
  it('one adapter at weight 1 is reproduced by every delta method', async () => {
    const one = [make(5, 4, 1.5, 1)];
    const expected = exactSum(one);
    for (const method of ['cat', 'linear', 'svd', 'linear_peft_factorwise', 'fedavg', 'ffa', 'fair_ridge']) {
      const r = await runMethod(method, one);
      expect(maxAbsDiff(product(r.B, r.A), expected), method).toBeLessThan(1e-10);
    }
    for (const method of ['ties', 'dare_linear', 'dare_ties', 'magnitude_prune']) {
      const r = await runMethod(method, one, { density: 1, rank: 4 });
      expect(maxAbsDiff(product(r.B, r.A), expected), method).toBeLessThan(1e-8);
    }
    const lego = await runMethod('lego', one, { k: 4, paramReweight: 'none', outputReweight: 'none' });
    expect(maxAbsDiff(product(lego.B, lego.A), expected)).toBeLessThan(1e-10);
  });

  it('cat ≡ task arithmetic, svd at full rank ≡ cat, lego with k = P and no reweighting ≡ cat', async () => {
    const ins = three();
    const expected = exactSum(ins);
    const cat = await runMethod('cat', ins);
    expect(maxAbsDiff(product(cat.B, cat.A), expected)).toBeLessThan(1e-10);
    const svd = await runMethod('svd', ins, { rank: 11 });
    expect(maxAbsDiff(product(svd.B, svd.A), expected)).toBeLessThan(1e-9);
    const lego = await runMethod('lego', ins, { k: 11, paramReweight: 'none', outputReweight: 'none' });
    expect(lego.A.rows).toBe(11);
    expect(maxAbsDiff(product(lego.B, lego.A), expected)).toBeLessThan(1e-10);
  });

  it('svd truncation is the best rank-k approximation: its error equals the discarded energy', async () => {
    const ins = three();
    const r = await runMethod('svd', ins, { rank: 3 });
    const diff = product(r.B, r.A).flat().map((v, i) => v - exactSum(ins).flat()[i]!);
    const err2 = diff.reduce((s, v) => s + v * v, 0);
    expect(Math.abs(err2 - (r.details.discardedEnergy as number))).toBeLessThan(1e-8 * (1 + err2));
    expect(err2).toBeGreaterThan(1e-3);
  });

  it('shuffling the input order changes nothing for order-free methods (seeded ones included)', async () => {
    const ins = three();
    const shuffled = [ins[2]!, ins[0]!, ins[1]!];
    for (const [method, params] of [
      ['cat', {}],
      ['svd', { rank: 3 }],
      ['lego', { k: 4 }],
      ['lego', { k: 3, init: 'randomSubset', nInit: 3 }],
      ['ties', { density: 0.5, rank: 3 }],
      ['dare_ties', { density: 0.5, rank: 3 }],
      ['dare_linear', { density: 0.5, rank: 3 }],
      ['fedavg', {}],
    ] as const) {
      const eq = method === 'fedavg' ? [make(0, 4, 2, 1), make(1, 4, 0.5, 0.7), make(2, 4, 1, 0.3)] : ins;
      const sh = method === 'fedavg' ? [eq[1]!, eq[2]!, eq[0]!] : shuffled;
      const a = await runMethod(method, eq, params);
      const b = await runMethod(method, sh, params);
      expect(maxAbsDiff(product(a.B, a.A), product(b.B, b.A)), method).toBeLessThan(1e-9);
    }
  });

  it('permuting the rank indices of an input leaves canonical lego unchanged', async () => {
    const ins = three();
    const x = ins[0]!;
    const perm = [2, 0, 3, 1];
    const B = randomMat(m, 4, 0);
    const A = randomMat(4, n, 0);
    perm.forEach((src, dst) => {
      for (let i = 0; i < m; i++) B.data[i * 4 + dst] = x.B.data[i * 4 + src]!;
      A.data.set(x.A.data.subarray(src * n, (src + 1) * n), dst * n);
    });
    const permuted = [{ ...x, B, A }, ins[1]!, ins[2]!];
    const a = await runMethod('lego', ins, { k: 4 });
    const b = await runMethod('lego', permuted, { k: 4 });
    expect(maxAbsDiff(product(a.B, a.A), product(b.B, b.A))).toBeLessThan(1e-9);
  });

  it('lego prunes a single adapter to a lower rank and reports cluster sizes summing to the pool', async () => {
    const r = await runMethod('lego', [make(9, 8, 1, 1)], { k: 3 });
    expect(r.A.rows).toBe(3);
    expect((r.details.clusterSizes as number[]).reduce((s, v) => s + v, 0)).toBe(8);
    expect(r.details.poolSize).toBe(8);
  });

  it('fedavg reports its aggregation bias ‖B̄Ā − Σp BA‖; ffa is exact when A is shared; fair_ridge lowers the bias', async () => {
    const A = randomMat(4, n, 77);
    const clients = [0, 1, 2].map((i) => moduleInput(i, randomMat(m, 4, 100 + i), A, { weight: [1, 2, 1][i] }));
    const ffa = await runMethod('ffa', clients);
    expect(ffa.details.sharedA).toBe(true);
    expect(ffa.details.aggregationBias as number).toBeLessThan(1e-10);
    const het = three().map((x, i) => ({ ...make(i, 4, 1, 1) }));
    const fed = await runMethod('fedavg', het);
    // Independent check of the bias from dense products.
    const p = 1 / 3;
    const exact = Array.from({ length: m }, () => new Array<number>(n).fill(0));
    for (const i of het) toRows(matmul(i.B, i.A)).forEach((row, a) => row.forEach((v, b) => (exact[a]![b]! += p * v)));
    const got = product(fed.B, fed.A);
    const bias = Math.sqrt(got.flat().reduce((s, v, i) => s + (v - exact.flat()[i]!) ** 2, 0));
    expect(Math.abs((fed.details.aggregationBias as number) - bias)).toBeLessThan(1e-9 * (1 + bias));
    const fair = await runMethod('fair_ridge', het, { lambda: 1e-6 });
    expect(fair.details.correctedBias as number).toBeLessThan(fed.details.aggregationBias as number);
    const ffaHet = await runMethod('ffa', het);
    expect(ffaHet.details.sharedA).toBe(false);
  });

  it('element-wise methods on factors refuse unequal ranks, naming the module', async () => {
    await expect(runMethod('linear_peft_factorwise', three())).rejects.toMatchObject({ code: 'MERGE_SHAPE_MISMATCH', message: expect.stringContaining('test.module') });
  });

  it('dare is seeded: the same seed gives the same result, another seed a different one', async () => {
    const ins = three();
    const a = await runMethod('dare_linear', ins, { density: 0.5, rank: 4 }, 1);
    const b = await runMethod('dare_linear', ins, { density: 0.5, rank: 4 }, 1);
    const c = await runMethod('dare_linear', ins, { density: 0.5, rank: 4 }, 2);
    expect(Array.from(a.B.data)).toEqual(Array.from(b.B.data));
    expect(maxAbsDiff(product(a.B, a.A), product(c.B, c.A))).toBeGreaterThan(1e-6);
  });
});

// Merges in the inputs' span (kernels/input-span.ts): the Cholesky route gives the same result as the
// Householder route and as dense arithmetic, its report figures equal the joint-Gram ones, and
// ill-conditioned inputs fall back instead of losing accuracy.
import { describe, expect, it } from 'vitest';
import { maxAbsDiff, moduleInput, product, randomMat } from './helpers.ts';
import { getMergeMethod } from '../../../src/merge/registry.ts';
import { resolveParams } from '../../../src/merge/param-schema.ts';
import type { ModuleContext, ModuleInput, ModuleResult } from '../../../src/merge/method-types.ts';
import { choleskyUpper, inputSpan, spanOf } from '../../../src/merge/kernels/input-span.ts';
import { measureInSpan } from '../../../src/merge/kernels/measure-in-span.ts';
import { gramSpace } from '../../../src/merge/kernels/gram-space.ts';
import { lowRankSvd } from '../../../src/linalg/low-rank-svd.ts';
import { truncateSvd } from '../../../src/linalg/truncate.ts';
import { matmul, toRows } from '../../../src/tensor/matrix.ts';

const m = 40;
const n = 33;
const three = (): ModuleInput[] => [
  moduleInput(0, randomMat(m, 4, 11), randomMat(4, n, 12), { scale: 2, weight: 1 }),
  moduleInput(1, randomMat(m, 3, 13), randomMat(3, n, 14), { scale: 0.5, weight: -0.7 }),
  moduleInput(2, randomMat(m, 5, 15), randomMat(5, n, 16), { scale: 1, weight: 0.3 }),
];

async function run(method: string, inputs: readonly ModuleInput[], params: Record<string, unknown>): Promise<ModuleResult> {
  const d = getMergeMethod(method);
  const ctx: ModuleContext = { module: 'span.test', outFeatures: m, inFeatures: n, inputs, inputCount: inputs.length, params: resolveParams(method, d.params, params), seed: 1 };
  return d.run(ctx);
}

function exactSum(inputs: readonly ModuleInput[]): number[][] {
  const out = Array.from({ length: m }, () => new Array<number>(n).fill(0));
  for (const i of inputs) toRows(matmul(i.B, i.A)).forEach((row, a) => row.forEach((v, b) => (out[a]![b]! += i.weight * i.scale * v)));
  return out;
}

describe('merges in the inputs’ span', () => {
  it('the Cholesky factor reproduces the Gram matrix and refuses a singular one', () => {
    const inputs = three();
    const span = inputSpan(inputs);
    expect(span.invertible).toBe(true);
    const c = span.c;
    for (let i = 0; i < c; i++) {
      for (let j = 0; j < c; j++) {
        let s = 0;
        for (let l = 0; l < c; l++) s += span.RB.data[l * c + i]! * span.RB.data[l * c + j]!;
        expect(Math.abs(s - span.GB[i * c + j]!)).toBeLessThan(1e-12 * (1 + Math.abs(span.GB[i * c + i]!)));
      }
    }
    // Two equal columns: the correlation matrix is singular.
    expect(choleskyUpper(Float64Array.from([4, 4, 4, 4]), 2)).toBeNull();
  });

  it('svd to rank 5 through the span equals the Householder factored SVD and is the best rank-5 approximation', async () => {
    const inputs = three();
    const r = await run('svd', inputs, { rank: 5 });
    expect(r.coefficients?.k).toBe(5);
    const ref = truncateSvd(lowRankSvd(inputs.map((i) => ({ B: i.B, A: i.A, weight: i.weight * i.scale }))), { rank: 5 });
    const got = product(r.B, r.A);
    expect(maxAbsDiff(got, product(ref.B, ref.A))).toBeLessThan(1e-11);
    // Same gauge as src/linalg: B columns equal U·√σ of the reference up to rounding.
    for (let i = 0; i < r.B.data.length; i++) expect(Math.abs(r.B.data[i]! - ref.B.data[i]!)).toBeLessThan(1e-10);
    const err2 = got.flat().reduce((s, v, i) => s + (v - exactSum(inputs).flat()[i]!) ** 2, 0);
    expect(Math.abs(err2 - (r.details!.discardedEnergy as number))).toBeLessThan(1e-9 * (1 + err2));
  });

  it('svd at full rank and cat reproduce the exact weighted sum', async () => {
    const inputs = three();
    for (const [method, params] of [
      ['svd', { rank: 12 }],
      ['cat', {}],
      ['linear', {}],
    ] as const) {
      const r = await run(method, inputs, params);
      expect(r.coefficients, method).toBeDefined();
      expect(maxAbsDiff(product(r.B, r.A), exactSum(inputs)), method).toBeLessThan(1e-10);
    }
  });

  it('report figures in c-space equal those of the joint Gram of output and inputs', async () => {
    const inputs = three();
    for (const [method, params] of [
      ['svd', { rank: 4 }],
      ['cat', {}],
      ['svd', { energy: 0.9 }],
    ] as const) {
      const r = await run(method, inputs, params);
      const coefs = inputs.map((i) => i.weight * i.scale);
      const span = measureInSpan(spanOf(inputs), coefs, r.coefficients!);
      const joint = gramSpace([{ B: r.B, A: r.A }, ...inputs.map((i) => ({ B: i.B, A: i.A }))]);
      const c = (merged: number, f: (t: number) => number) => [merged, ...coefs.map((x, t) => x * f(t))];
      const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThan(1e-9 * (1 + Math.abs(b)));
      close(span.exactNorm, joint.norm(c(0, () => 1)));
      close(span.error, joint.norm(c(1, () => -1)));
      close(span.mergedNorm, joint.norm(c(1, () => 0)));
      span.perInput.forEach((p, t) => {
        close(p.own, joint.norm(c(0, (u) => (u === t ? 1 : 0))));
        close(p.error, joint.norm(c(1, (u) => (u === t ? -1 : 0))));
        close(p.cross, joint.inner(c(1, () => 0), c(0, (u) => (u === t ? 1 : 0))));
      });
      if (method === 'cat') expect(span.error).toBe(0);
    }
  });

  it('a repeated adapter (singular Gram) takes the Householder route and stays exact', async () => {
    const a = three()[0]!;
    const twice = [a, moduleInput(1, a.B, a.A, { scale: a.scale, weight: 1 })];
    expect(inputSpan(twice).invertible).toBe(false);
    const r = await run('svd', twice, { rank: 4 });
    expect(r.coefficients).toBeUndefined();
    expect(maxAbsDiff(product(r.B, r.A), exactSum(twice))).toBeLessThan(1e-10);
  });
});

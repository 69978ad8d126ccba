import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fromRows, matmul, type Mat } from '../../../src/tensor/matrix.ts';
import { mitigatedFactors, mitigateIntruders } from '../../../src/diagnostics/mitigate-intruders.ts';
import { scanModuleIntruders } from '../../../src/diagnostics/intruder-scan.ts';
import { memoryBasisCache } from '../../../src/diagnostics/base-basis.ts';
import { factoredSvd } from '../../../src/diagnostics/factored-svd.ts';
import { loadAdapter } from '../../../src/adapter/load-adapter.ts';

const W0 = fromRows([[4, 0, 0, 0], [0, 3, 0, 0], [0, 0, 2, 0], [0, 0, 0, 1]]);
const h = Math.sqrt(10) / 2;
const B = fromRows([[h], [h], [h], [h]]);
const A = fromRows([[h, h, h, h]]);
const scanOptions = { k: 10, epsilons: [0.6], sweep: [], seed: 1, route: 'full' as const, baseKey: 'a12' };

async function a12Intruders() {
  const scan = await scanModuleIntruders(W0, B, A, 1, { ...scanOptions, cache: memoryBasisCache() });
  const I = scan.vectors.filter((v) => v.maxCosUpper < 0.6).map((v) => v.index);
  return { I, triplets: I.map((j) => ({ u: scan.triplets.u[j]!, sigma: scan.triplets.s[j]!, v: scan.triplets.v[j]! })) };
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('A12 mitigation (λ = 0.75, ε = 0.6)', () => {
  it('scales the one intruder: ΔW_mit of A12, singular values [6.90030, 0.05641], exact rank r + |I| = 2', async () => {
    const { I, triplets } = await a12Intruders();
    expect(I).toEqual([0]);
    const next = mitigatedFactors(B, A, 1, triplets, 0.75, 'exact');
    expect(next.exactRank).toBe(2);
    const expected = [
      [1.45229, 1.56115, 1.64952, 1.72268],
      [1.56115, 1.6587, 1.73788, 1.80344],
      [1.64952, 1.73788, 1.80962, 1.86901],
      [1.72268, 1.80344, 1.86901, 1.92329],
    ];
    const product = matmul(next.B, next.A);
    expected.forEach((row, i) => row.forEach((v, j) => expect(product.data[i * 4 + j]).toBeCloseTo(v, 5)));
    const s = factoredSvd(next.B, next.A, 1).s;
    expect(s[0]).toBeCloseTo(6.9003, 4);
    expect(s[1]).toBeCloseTo(0.05641, 5);
  });

  it('"same" truncates to r = 1 as PEFT does, drops 0.05641², and the top vector stays an intruder (c₀ = 0.57711)', async () => {
    const { triplets } = await a12Intruders();
    const next = mitigatedFactors(B, A, 1, triplets, 0.75, 'same');
    expect(next.A.rows).toBe(1);
    // 0.05641 is printed to 5 decimals, so its square is known to ~1e-6.
    expect(next.droppedEnergy).toBeCloseTo(0.05641 ** 2, 5);
    const after = await scanModuleIntruders(W0, next.B, next.A, 1, { ...scanOptions, cache: memoryBasisCache() });
    [9.4698, 3.59604, 2.47487, 1.35959].forEach((v, j) => expect(after.tunedSigma[j]).toBeCloseTo(v, 4));
    expect(after.vectors[0]!.maxCosLower).toBeCloseTo(0.57711, 5);
  });

  it('λ = 1 reproduces ΔW and λ = 0 removes the intruder component σ₀u₀v₀ᵀ entirely', async () => {
    const { triplets } = await a12Intruders();
    const same = mitigatedFactors(B, A, 1, triplets, 1, 'exact');
    const p1 = matmul(same.B, same.A);
    for (const v of p1.data) expect(v).toBeCloseTo(2.5, 12);
    const removed = mitigatedFactors(B, A, 1, triplets, 0, 'exact');
    const p0: Mat = matmul(removed.B, removed.A);
    // W0 + ΔW_mit has no component along u₀: u₀ᵀ(W0 + ΔW_mit) = 0 up to rounding.
    const u0 = triplets[0]!.u;
    for (let j = 0; j < 4; j++) {
      let dotv = 0;
      for (let i = 0; i < 4; i++) dotv += u0[i]! * (W0.data[i * 4 + j]! + p0.data[i * 4 + j]!);
      expect(Math.abs(dotv)).toBeLessThan(1e-10);
    }
  });
});

describe('mitigateIntruders() writes a PEFT adapter', () => {
  it('tinygpt2-ih: modules with intruders get rank r + |I| (scale 1), the others are copied, and PEFT reloads it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'awb-mitigate-'));
    dirs.push(dir);
    const out = join(dir, 'mitigated');
    const result = await mitigateIntruders({ adapter: 'fixtures/real/tinygpt2-ih', base: 'fixtures/real/base-tinygpt2', outDir: out, epsilon: 0.5, lambda: 0.5 });
    const changed = result.modules.filter((m) => m.intruders.length > 0);
    expect(changed.length).toBeGreaterThan(0);
    for (const m of changed) expect(m.exactRank).toBeLessThanOrEqual(m.rankIn + m.intruders.length);
    const reloaded = await loadAdapter(out);
    expect(reloaded.modules.map((m) => m.name)).toEqual(result.modules.map((m) => m.module));
    for (const m of changed) {
      const mod = reloaded.modules.find((x) => x.name === m.module)!;
      expect(mod.rank).toBe(m.rankOut);
      expect(mod.scale).toBeCloseTo(1, 6);
    }
    await reloaded.close();
  });
});

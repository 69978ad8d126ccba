// algorithms.md §7, A14–A21 and A25(vii): the hand-checkable family conversions.
import { describe, expect, it } from 'vitest';
import { lohaToLora } from '../../../src/formats/face-splitting.ts';
import { kroneckerToLora } from '../../../src/formats/kronecker-svd.ts';
import { missToLora } from '../../../src/formats/miss.ts';
import { veraToLora } from '../../../src/formats/vera.ts';
import { randloraToLora } from '../../../src/formats/randlora.ts';
import { loraXsToLora } from '../../../src/formats/lora-xs.ts';
import { lduDecompose, lolduToLora } from '../../../src/formats/loldu.ts';
import { doraEffectiveDelta, doraToLora } from '../../../src/formats/dora.ts';
import { createRng } from '../../../src/util/rng.ts';
import { fromRows, frobeniusNorm, matmul, toRows, type Mat } from '../../../src/tensor/matrix.ts';

const close = (got: Mat, want: number[][], tol = 1e-12): void => {
  expect([got.rows, got.cols]).toEqual([want.length, want[0]!.length]);
  toRows(got).forEach((row, i) => row.forEach((v, j) => expect(v, `[${i},${j}]`).toBeCloseTo(want[i]![j]!, -Math.log10(tol))));
};
const scaled = (m: Mat, s: number): Mat => ({ rows: m.rows, cols: m.cols, data: m.data.map((v) => v * s) });
const sub = (a: Mat, b: Mat): Mat => ({ rows: a.rows, cols: a.cols, data: a.data.map((v, i) => v - b.data[i]!) });

describe('A14 — LoHa → exact LoRA by face-splitting products', () => {
  it('B′ (3×4), A′ (4×2) and 0.5·B′A′ = [[1,1],[0,0],[0.5,1.5]]', () => {
    const { B, A } = lohaToLora(fromRows([[1, 0], [0, 1], [1, 1]]), fromRows([[1, 2], [0, 1]]), fromRows([[1, 1], [2, 0], [0, 1]]), fromRows([[1, 0], [1, 1]]));
    close(scaled(B, 0.5), [[0.5, 0.5, 0, 0], [0, 0, 1, 0], [0, 0.5, 0, 0.5]]);
    close(A, [[1, 0], [1, 2], [0, 0], [0, 1]]);
    close(scaled(matmul(B, A), 0.5), [[1, 1], [0, 0], [0.5, 1.5]]);
  });
});

describe('A15 — LoKr through two small SVDs', () => {
  it('0.5·kron([[1,2]], [[3],[4]]): σ = 0.5·√5·5, u = [0.6, 0.8], v = [1,2]/√5', () => {
    const W2 = matmul(fromRows([[3], [4]]), fromRows([[1]]));
    const k = kroneckerToLora(fromRows([[1, 2]]), W2);
    expect(k.rank).toBe(1);
    expect(0.5 * k.singularValues[0]!).toBeCloseTo(5.59017, 5);
    close(scaled(matmul(k.B, k.A), 0.5), [[1.5, 3], [2, 4]]);
    const u = [k.B.data[0]! / k.singularValues[0]!, k.B.data[1]! / k.singularValues[0]!];
    const sign = Math.sign(u[0]!);
    expect(u.map((x) => x * sign)).toEqual([expect.closeTo(0.6, 12), expect.closeTo(0.8, 12)]);
    expect([k.A.data[0]! * sign, k.A.data[1]! * sign]).toEqual([expect.closeTo(1 / Math.sqrt(5), 12), expect.closeTo(2 / Math.sqrt(5), 12)]);
  });

  it('diag(2,1) ⊗ [[1,1],[0,1]]: σ = [3.236068, 1.618034, 1.236068, 0.618034]; rank 2 keeps the first two', () => {
    const W1 = fromRows([[2, 0], [0, 1]]);
    const W2 = fromRows([[1, 1], [0, 1]]);
    const full = kroneckerToLora(W1, W2);
    expect([...full.singularValues].map((v) => Number(v.toFixed(6)))).toEqual([3.236068, 1.618034, 1.236068, 0.618034]);
    expect(full.exact).toBe(true);
    const two = kroneckerToLora(W1, W2, { rank: 2 });
    expect([...two.singularValues].map((v) => Number(v.toFixed(6)))).toEqual([3.236068, 1.618034]);
    // error from the discarded products, checked against the dense difference
    const dense = fromRows([[2, 2, 0, 0], [0, 2, 0, 0], [0, 0, 1, 1], [0, 0, 0, 1]]);
    const err = frobeniusNorm(sub(dense, matmul(two.B, two.A))) / frobeniusNorm(dense);
    expect(two.relativeError).toBeCloseTo(err, 12);
    expect(two.relativeError).toBeCloseTo(Math.sqrt(1.236068 ** 2 + 0.618034 ** 2) / frobeniusNorm(dense), 6);
  });
});

describe('A16 — MiSS default mode → exact LoRA', () => {
  it('n = 4: A′ = [[1,0,1,0],[0,1,0,1]], B′ = Mᵀ, Δy(1,2,3,4) = [22, 32]', () => {
    const { B, A } = missToLora(fromRows([[1, 2], [3, 4]]), 2, 4);
    close(A, [[1, 0, 1, 0], [0, 1, 0, 1]]);
    close(B, [[1, 3], [2, 4]]);
    close(matmul(B, A), [[1, 3, 1, 3], [2, 4, 2, 4]]);
    close(matmul(matmul(B, A), fromRows([[1], [2], [3], [4]])), [[22], [32]]);
  });
  it('n = 5 (padding): A′ = [[1,0,1,0,1],[0,1,0,1,0]], Δy(1..5) = [27, 42]', () => {
    const { B, A } = missToLora(fromRows([[1, 2], [3, 4]]), 2, 5);
    close(A, [[1, 0, 1, 0, 1], [0, 1, 0, 1, 0]]);
    close(matmul(matmul(B, A), fromRows([[1], [2], [3], [4], [5]])), [[27], [42]]);
  });
});

describe('A17 — VeRA', () => {
  it('diag(λ_b)·B[:2]·diag(λ_d)·A[:, :3] = [[2,3,2],[0,1.5,0]]', () => {
    const { B, A } = veraToLora(fromRows([[1, 0, 1, 9], [0, 1, 0, 9]]), fromRows([[1, 1], [0, 1], [7, 7]]), Float64Array.from([2, 3]), Float64Array.from([1, 0.5]), 2, 3);
    close(matmul(B, A), [[2, 3, 2], [0, 1.5, 0]]);
  });
});

describe('A18 — RandLoRA pairs bases positionally, as PEFT does', () => {
  it('in = 4 ≤ out = 5: ΔW rows [1,0,1,0], [4,0,4,0], [0,3,0,3], [0,8,0,8], [0,8,0,8]', () => {
    const e = (i: number): number[] => Array.from({ length: 5 }, (_, j) => (j === i ? 1 : 0));
    const cols: Record<string, number[]> = { '0,0': e(0), '0,1': e(1), '1,0': e(2), '1,1': e(3).map((v, j) => v + e(4)[j]!) };
    const data = new Float64Array(5 * 2 * 2); // D_max × N_b × r
    for (let i = 0; i < 5; i++) for (let b = 0; b < 2; b++) for (let k = 0; k < 2; k++) data[(i * 2 + b) * 2 + k] = cols[`${b},${k}`]![i]!;
    const { B, A } = randloraToLora(
      { basisA: fromRows([[1, 0, 1, 0], [0, 1, 0, 1]]), basisB: { dims: [5, 2, 2], data }, lambda: fromRows([[1, 2], [3, 4]]), gamma: fromRows([[1, 1, 1, 1], [2, 2, 2, 2]]) },
      5,
      4,
    );
    close(A, [[1, 0, 1, 0], [4, 0, 4, 0], [0, 3, 0, 3], [0, 8, 0, 8]]);
    close(matmul(B, A), [[1, 0, 1, 0], [4, 0, 4, 0], [0, 3, 0, 3], [0, 8, 0, 8], [0, 8, 0, 8]]);
  });
});

describe('A19 — LoRA-XS', () => {
  it('B·R·A = [[0,1],[2,0],[0,0]] with B′ = B·R', () => {
    const { B, A } = loraXsToLora(fromRows([[1, 0], [0, 1], [0, 0]]), fromRows([[0, 1], [2, 0]]), fromRows([[1, 0], [0, 1]]));
    close(B, [[0, 1], [2, 0], [0, 0]]);
    close(matmul(B, A), [[0, 1], [2, 0], [0, 0]]);
  });
});

describe('A20 — LoLDU', () => {
  it('W0 = [[2,1],[4,3]] = P·L·diag(4, −0.5)·U; z = [5] → B′ = [[0.5],[1]], A′ = [[1, 0.75]]', () => {
    const W0 = fromRows([[2, 1], [4, 3]]);
    const ldu = lduDecompose(W0);
    expect(ldu.perm).toEqual([1, 0]);
    close(ldu.L, [[1, 0], [0.5, 1]]);
    expect([...ldu.D]).toEqual([4, -0.5]);
    close(ldu.U, [[1, 0.75], [0, 1]]);
    const { B, A } = lolduToLora(W0, Float64Array.from([5]), 1);
    close(B, [[0.5], [1]]);
    close(A, [[1, 0.75]]);
    close(matmul(B, A), [[0.5, 0.375], [1, 0.75]]);
  });
});

describe('A21 — DoRA effective delta', () => {
  it('W0 = diag(3,4), B = [[1],[0]], A = [[0,1]], m = [3.5, 4] → ΔW_eff = [[0.320391, 1.106797],[0,0]]', async () => {
    const W0 = fromRows([[3, 0], [0, 4]]);
    const B = fromRows([[1], [0]]);
    const A = fromRows([[0, 1]]);
    const mag = Float64Array.from([3.5, 4]);
    const d = doraEffectiveDelta(W0, B, A, 1, mag);
    const dense = await d.operator.apply(fromRows([[1, 0], [0, 1]]));
    close(dense, [[0.320391, 1.106797], [0, 0]], 1e-5);
    expect(d.norm).toBeCloseTo(Math.hypot(0.3203915, 1.1067971), 6);
    const t = await doraToLora(W0, B, A, 1, mag, { rank: 1 });
    expect(t.rank).toBe(1);
    expect(t.relativeError).toBeLessThan(1e-7);
    close(matmul(t.B, t.A), [[0.320391, 1.106797], [0, 0]], 1e-5);
  });

  it('a full-rank effective delta truncated to rank 2 reports the error a dense SVD of the operator gives', async () => {
    const rng = createRng(7);
    const rand = (r: number, c: number): Mat => ({ rows: r, cols: c, data: Float64Array.from({ length: r * c }, () => rng.normal()) });
    const W0 = rand(9, 7);
    const B = rand(9, 2);
    const A = rand(2, 7);
    const mag = Float64Array.from({ length: 9 }, () => 1 + rng.next());
    const d = doraEffectiveDelta(W0, B, A, 0.5, mag);
    const dense = await d.operator.apply({ rows: 7, cols: 7, data: Float64Array.from({ length: 49 }, (_, i) => (i % 8 === 0 ? 1 : 0)) });
    expect(frobeniusNorm(dense)).toBeCloseTo(d.norm, 10);
    const t = await doraToLora(W0, B, A, 0.5, mag, { rank: 2 });
    const actual = frobeniusNorm(sub(dense, matmul(t.B, t.A))) / d.norm;
    expect(t.relativeError).toBeCloseTo(actual, 6);
    expect(t.relativeError).toBeGreaterThan(0.01);
  });
});

describe('A25(vii) — MiSS, VeRA, LoRA-XS, LoLDU conversions are exact on random inputs', () => {
  it('‖ΔW − B′A′‖ < 1e-12·‖ΔW‖ against the defining formula', () => {
    const rng = createRng(2026);
    const rand = (r: number, c: number): Mat => ({ rows: r, cols: c, data: Float64Array.from({ length: r * c }, () => rng.normal()) });
    for (let trial = 0; trial < 5; trial++) {
      // MiSS: Δy = (Σ blocks of the padded x)·M
      const M = rand(3, 5);
      const miss = missToLora(M, 5, 7);
      const want = { rows: 5, cols: 7, data: new Float64Array(35) };
      for (let o = 0; o < 5; o++) for (let i = 0; i < 7; i++) want.data[o * 7 + i] = M.data[(i % 3) * 5 + o]!;
      expect(frobeniusNorm(sub(matmul(miss.B, miss.A), want))).toBeLessThan(1e-12 * frobeniusNorm(want));
      // VeRA
      const vA = rand(4, 9);
      const vB = rand(8, 4);
      const ld = Float64Array.from({ length: 4 }, () => rng.normal());
      const lb = Float64Array.from({ length: 6 }, () => rng.normal());
      const v = veraToLora(vA, vB, ld, lb, 6, 7);
      const vw = { rows: 6, cols: 7, data: new Float64Array(42) };
      for (let o = 0; o < 6; o++) for (let i = 0; i < 7; i++) for (let k = 0; k < 4; k++) vw.data[o * 7 + i]! += lb[o]! * vB.data[o * 4 + k]! * ld[k]! * vA.data[k * 9 + i]!;
      expect(frobeniusNorm(sub(matmul(v.B, v.A), vw))).toBeLessThan(1e-12 * frobeniusNorm(vw));
      // LoRA-XS
      const xB = rand(6, 3);
      const xR = rand(3, 3);
      const xA = rand(3, 5);
      const x = loraXsToLora(xB, xR, xA);
      const xw = matmul(matmul(xB, xR), xA);
      expect(frobeniusNorm(sub(matmul(x.B, x.A), xw))).toBeLessThan(1e-12 * frobeniusNorm(xw));
      // LoLDU: W_eff − W0 with W_eff = W0 − s·P L_r D_r U_r + s·P L_r diag(z) U_r
      const W0 = rand(5, 4);
      const z = Float64Array.from({ length: 2 }, () => rng.normal());
      const l = lolduToLora(W0, z, 0.5);
      const ldu = lduDecompose(W0);
      const lw = { rows: 5, cols: 4, data: new Float64Array(20) };
      for (let i = 0; i < 5; i++) for (let j = 0; j < 4; j++) for (let k = 0; k < 2; k++) lw.data[ldu.perm[i]! * 4 + j]! += 0.5 * ldu.L.data[i * 4 + k]! * (z[k]! - ldu.D[k]!) * ldu.U.data[k * 4 + j]!;
      expect(frobeniusNorm(sub(matmul(l.B, l.A), lw))).toBeLessThan(1e-12 * frobeniusNorm(lw));
      // and P·L·D·U reproduces W0
      const rec = { rows: 5, cols: 4, data: new Float64Array(20) };
      for (let i = 0; i < 5; i++) for (let j = 0; j < 4; j++) for (let k = 0; k < 4; k++) rec.data[ldu.perm[i]! * 4 + j]! += ldu.L.data[i * 4 + k]! * ldu.D[k]! * ldu.U.data[k * 4 + j]!;
      expect(frobeniusNorm(sub(rec, W0))).toBeLessThan(1e-12 * frobeniusNorm(W0));
    }
  });
});

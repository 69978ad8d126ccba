// The report's Gram-matrix geometry against dense products (independent: ΔW formed explicitly),
// including the cancellation cases the Gram expansion alone would get wrong.
import { describe, expect, it } from 'vitest';
import { gramOfRows, gramSpace } from '../../../src/merge/kernels/gram-space.ts';
import { matmul, zeros, type Mat } from '../../../src/tensor/matrix.ts';
import { createRng } from '../../../src/util/rng.ts';

function rand(rows: number, cols: number, seed: number): Mat {
  const rng = createRng(seed);
  return { rows, cols, data: Float64Array.from({ length: rows * cols }, () => rng.normal()) };
}

function denseCombination(terms: readonly { B: Mat; A: Mat }[], coefs: readonly number[]): Float64Array {
  const out = new Float64Array(terms[0]!.B.rows * terms[0]!.A.cols);
  terms.forEach((t, i) => {
    const p = matmul(t.B, t.A);
    for (let k = 0; k < out.length; k++) out[k]! += coefs[i]! * p.data[k]!;
  });
  return out;
}

const norm = (x: Float64Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0));

describe('gramSpace', () => {
  it('gramOfRows equals the dot products of every pair of rows (odd sizes exercise the block edges)', () => {
    const X = rand(7, 13, 1);
    const G = gramOfRows(X.data, 7, 13);
    for (let a = 0; a < 7; a++) {
      for (let b = 0; b < 7; b++) {
        let s = 0;
        for (let i = 0; i < 13; i++) s += X.data[a * 13 + i]! * X.data[b * 13 + i]!;
        expect(G[a * 7 + b]).toBeCloseTo(s, 12);
      }
    }
  });

  it('norms and inner products of combinations match the dense ΔW within 1e-12 relative', () => {
    const terms = [0, 1, 2].map((t) => ({ B: rand(9, 2 + t, 10 + t), A: rand(2 + t, 11, 20 + t) }));
    for (const coefs of [[1, 0, 0], [0.5, -2, 1], [1, 1, 1]]) {
      const dense = denseCombination(terms, coefs);
      expect(Math.abs(gramSpace(terms).norm(coefs) - norm(dense)) / norm(dense)).toBeLessThan(1e-12);
    }
    const x = denseCombination(terms, [1, 0, 2]);
    const y = denseCombination(terms, [0, 1, -1]);
    const dot = x.reduce((s, v, i) => s + v * y[i]!, 0);
    expect(gramSpace(terms).inner([1, 0, 2], [0, 1, -1])).toBeCloseTo(dot, 10);
  });

  it('a merge that reuses scaled input factors (cat) reports a zero error, not √eps', () => {
    const inputs = [0, 1].map((t) => ({ B: rand(12, 3, 30 + t), A: rand(3, 10, 40 + t) }));
    const w = [0.3, 1.7];
    const B = zeros(12, 6);
    const A = zeros(6, 10);
    inputs.forEach((t, k) => {
      for (let i = 0; i < 12; i++) for (let j = 0; j < 3; j++) B.data[i * 6 + 3 * k + j] = w[k]! * t.B.data[i * 3 + j]!;
      A.data.set(t.A.data, 3 * k * 10);
    });
    const space = gramSpace([{ B, A }, ...inputs]);
    const total = space.norm([0, w[0]!, w[1]!]);
    expect(space.norm([1, -w[0]!, -w[1]!]) / total).toBeLessThan(1e-14);
    // One input removed: ‖M − w₁X₁‖ = ‖w₂X₂‖ (no cancellation; Gram path).
    const rest = norm(denseCombination(inputs, [0, w[1]!]));
    expect(Math.abs(space.norm([1, -w[0]!, 0]) - rest) / rest).toBeLessThan(1e-12);
  });

  it('a nearly equal pair that shares no factors goes through the exact QR path: relative error 1e-9 resolved', () => {
    const X = { B: rand(8, 2, 50), A: rand(2, 9, 51) };
    // Y = X with B perturbed by 1e-9 in a new representation (B·G, G⁻¹·A), so no alias is found.
    const Bp = { ...X.B, data: X.B.data.map((v, i) => v * 2 + (i === 3 ? 1e-9 : 0)) };
    const Ap = { ...X.A, data: X.A.data.map((v) => v / 2) };
    const Y = { B: Bp, A: Ap };
    const want = norm(denseCombination([X, Y], [1, -1]));
    const got = gramSpace([X, Y]).norm([1, -1]);
    expect(want).toBeGreaterThan(0);
    expect(Math.abs(got - want) / want).toBeLessThan(1e-5);
  });
});

// ‖sBA‖_F from r×r Gram matrices equals the norm of the dense product.
import { describe, expect, it } from 'vitest';
import { factoredFrobeniusNorm, factoredRelativeDistance } from '../../../src/adapter/factored-norm.ts';
import { frobeniusNorm, fromRows, matmul, scale, type Mat } from '../../../src/tensor/matrix.ts';
import { createRng } from '../../../src/util/rng.ts';

function random(rows: number, cols: number, seed: number): Mat {
  const rng = createRng(seed);
  return { rows, cols, data: Float64Array.from({ length: rows * cols }, () => rng.normal()) };
}

describe('factoredFrobeniusNorm', () => {
  it('hand example: B = [[1],[2]], A = [[3, 4]], s = 0.5 → 0.5·√5·5 = 5.590170', () => {
    expect(factoredFrobeniusNorm(fromRows([[3, 4]]), fromRows([[1], [2]]), 0.5)).toBeCloseTo(0.5 * Math.sqrt(5) * 5, 12);
  });
  it('matches the dense ‖s·B·A‖_F within 1e-12 relative for random shapes', () => {
    for (const [m, n, r, seed] of [[40, 30, 4, 1], [7, 90, 8, 2], [64, 64, 16, 3], [5, 3, 6, 4]] as const) {
      const A = random(r, n, seed);
      const B = random(m, r, seed + 100);
      const dense = frobeniusNorm(scale(matmul(B, A), -1.7));
      expect(Math.abs(factoredFrobeniusNorm(A, B, -1.7) - dense) / dense).toBeLessThan(1e-12);
    }
  });
  it('is zero for a zero B (PEFT initialisation)', () => {
    expect(factoredFrobeniusNorm(random(4, 10, 1), { rows: 6, cols: 4, data: new Float64Array(24) }, 2)).toBe(0);
  });
});

describe('factoredRelativeDistance', () => {
  it('matches the dense ‖ΔW₁ − ΔW₂‖_F / ‖ΔW₁‖_F for different ranks', () => {
    const A1 = random(4, 20, 5);
    const B1 = random(12, 4, 6);
    const A2 = random(6, 20, 7);
    const B2 = random(12, 6, 8);
    const d1 = scale(matmul(B1, A1), 0.5);
    const d2 = scale(matmul(B2, A2), 2);
    const diff = { rows: 12, cols: 20, data: d1.data.map((v, i) => v - d2.data[i]!) };
    const expected = frobeniusNorm(diff) / frobeniusNorm(d1);
    expect(Math.abs(factoredRelativeDistance(A1, B1, 0.5, A2, B2, 2) - expected)).toBeLessThan(1e-12);
  });
  it('is 0 for a gauge-transformed copy (B·G, G⁻¹·A with G diagonal)', () => {
    const A = random(3, 9, 9);
    const B = random(5, 3, 10);
    const g = [2, -0.5, 4];
    const A2 = { rows: 3, cols: 9, data: A.data.map((v, i) => v / g[Math.floor(i / 9)]!) };
    const B2 = { rows: 5, cols: 3, data: B.data.map((v, i) => v * g[i % 3]!) };
    expect(factoredRelativeDistance(A, B, 1, A2, B2, 1)).toBeLessThan(1e-7);
  });
});

import { describe, expect, it } from 'vitest';
import { fromRows } from '../../../src/tensor/matrix.ts';
import { effectiveRank, moduleSpectrum, rankForEnergy } from '../../../src/diagnostics/module-spectrum.ts';
import { factoredSvd } from '../../../src/diagnostics/factored-svd.ts';

describe('spectrum of ΔW from its factors', () => {
  it('A13: the singular values of B·A are √(6±2√3) and the zero value is dropped', () => {
    const B = fromRows([[1, 0], [0, 1], [1, 1]]);
    const A = fromRows([[1, 0, 0, 1], [0, 2, 0, 0]]);
    const svd = factoredSvd(B, A, 1);
    expect(svd.s.length).toBe(2);
    expect(svd.s[0]).toBeCloseTo(3.076378, 6);
    expect(svd.s[1]).toBeCloseTo(1.59245, 5);
    // U Σ Vᵀ reconstructs B·A to 1e-12.
    const BA = [[1, 0, 0, 1], [0, 2, 0, 0], [1, 2, 0, 1]];
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 4; j++) {
        const value = svd.u.reduce((acc, u, t) => acc + u[i]! * svd.s[t]! * svd.v[t]![j]!, 0);
        expect(Math.abs(value - BA[i]![j]!)).toBeLessThan(1e-12);
      }
    }
  });

  it('A12: erank(ΔW) = 1 for 2.5·ones(4,4) and erank(diag(4,3,2,1)) = 3.59612', () => {
    const h = Math.sqrt(10) / 2;
    const spectrum = moduleSpectrum(fromRows([[h], [h], [h], [h]]), fromRows([[h, h, h, h]]), 1);
    expect(spectrum.singularValues).toHaveLength(1);
    expect(spectrum.singularValues[0]).toBeCloseTo(10, 10);
    expect(spectrum.effectiveRank).toBeCloseTo(1, 12);
    expect(spectrum.stableRank).toBeCloseTo(1, 12);
    expect(effectiveRank([4, 3, 2, 1])).toBeCloseTo(3.59612, 5);
  });

  it('energy ranks: σ = [3, 2, 1] keeps 9/14, 13/14, 14/14 of the energy', () => {
    // 90 % needs 13/14 = 0.9286 → rank 2; 95 % and 99 % need rank 3.
    expect(rankForEnergy([3, 2, 1], 0.9)).toBe(2);
    expect(rankForEnergy([3, 2, 1], 0.95)).toBe(3);
    const B = fromRows([[3, 0, 0], [0, 2, 0], [0, 0, 1]]);
    const A = fromRows([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
    const s = moduleSpectrum(B, A, 2);
    expect(s.singularValues).toEqual([6, 4, 2]);
    expect(s.energy.map((e) => Number(e.toFixed(6)))).toEqual([0.642857, 0.928571, 1]);
    expect(s.rankForEnergy).toEqual({ '0.9': 2, '0.95': 3, '0.99': 3 });
    expect(s.suggestedRank).toBe(3);
    expect(s.stableRank).toBeCloseTo(56 / 36, 12);
    expect(s.unitNorms).toEqual([6, 4, 2]);
    expect(s.frobeniusNorm).toBeCloseTo(Math.sqrt(56), 12);
  });

  it('a scale of −1 flips the vectors but keeps non-negative singular values', () => {
    const svd = factoredSvd(fromRows([[1], [0]]), fromRows([[0, 2]]), -1);
    expect(Array.from(svd.s)).toEqual([2]);
    expect(svd.u[0]![0]! * svd.s[0]! * svd.v[0]![1]!).toBeCloseTo(-2, 12);
  });
});

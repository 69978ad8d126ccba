// unitGauges (src/units/unit-gauges.ts) describes each unit by scalars on the raw factors; the
// entries it implies must be decomposeModule's (with canonicalizeUnit) bit for bit when it reads
// the factors, and to rounding (1e-14 relative) when the norms come from given Gram diagonals.
import { describe, expect, it } from 'vitest';
import { decomposeModule } from '../../../src/units/decompose-module.ts';
import { unitEntry, unitGauges } from '../../../src/units/unit-gauges.ts';
import type { UnitSource } from '../../../src/units/decompose-module.ts';
import { randomMat } from './helpers.ts';

const m = 7;
const n = 5;
function sources(): UnitSource[] {
  const specs = [
    { r: 3, scale: 2, weight: 1 },
    { r: 4, scale: -0.5, weight: -0.8 },
    { r: 2, scale: 1, weight: 0.3 },
  ];
  return specs.map((s, t) => {
    const B = randomMat(m, s.r, 40 + t);
    const A = randomMat(s.r, n, 50 + t);
    if (t === 1) A.data.fill(0, 2 * n, 3 * n); // unit 1:2 has a = 0
    if (t === 2) for (let row = 0; row < m; row++) B.data[row * s.r] = 0; // unit 2:0 has b = 0
    return { adapterIndex: t, adapterName: `in${t}`, B, A, scale: s.scale, weight: s.weight };
  });
}

function squaredNorms(src: readonly UnitSource[]): { B: Float64Array; A: Float64Array } {
  const B: number[] = [];
  const A: number[] = [];
  for (const s of src) {
    for (let i = 0; i < s.A.rows; i++) {
      let b = 0;
      for (let row = 0; row < m; row++) b += s.B.data[row * s.B.cols + i]! ** 2;
      let a = 0;
      for (let col = 0; col < n; col++) a += s.A.data[i * n + col]! ** 2;
      B.push(b);
      A.push(a);
    }
  }
  return { B: Float64Array.from(B), A: Float64Array.from(A) };
}

describe('unitGauges', () => {
  for (const feature of ['canonical', 'raw'] as const) {
    it(`${feature}: every entry equals decomposeModule's bit for bit; zero units are dropped alike`, () => {
      const src = sources();
      const pool = decomposeModule('mod', src, { feature, dropZero: true });
      const units = unitGauges('mod', src, { feature, dropZero: true });
      expect(units.map((u) => u.id)).toEqual(pool.ids);
      expect(units).toHaveLength(7);
      units.forEach((u, j) => {
        const s = src[u.source]!;
        let nb = 0;
        let na = 0;
        for (let row = 0; row < m; row++) {
          const v = pool.B.data[row * pool.B.cols + j]!;
          expect(unitEntry(u, s.B, s.A, row)).toBe(v);
          nb += v * v;
        }
        for (let col = 0; col < n; col++) {
          const v = pool.A.data[j * n + col]!;
          expect(unitEntry(u, s.B, s.A, m + col)).toBe(v);
          na += v * v;
        }
        expect(Math.abs(u.normB - Math.sqrt(nb))).toBeLessThan(1e-14 * Math.sqrt(nb));
        expect(Math.abs(u.normA - Math.sqrt(na))).toBeLessThan(1e-14 * Math.sqrt(na));
        const maxB = Math.max(...Array.from({ length: m }, (_, row) => Math.abs(pool.B.data[row * pool.B.cols + j]!)));
        expect(Math.abs(u.maxAbsB - maxB)).toBeLessThan(1e-14 * maxB);
      });
    });
  }

  it('with the squared norms given, the gauges agree to 1e-14 and maxAbs is computed only on request', () => {
    const src = sources();
    const read = unitGauges('mod', src, { feature: 'canonical', dropZero: true });
    const given = unitGauges('mod', src, { feature: 'canonical', dropZero: true, squaredNorms: squaredNorms(src) });
    const withMax = unitGauges('mod', src, { feature: 'canonical', dropZero: true, squaredNorms: squaredNorms(src), maxAbs: true });
    expect(given.map((u) => u.id)).toEqual(read.map((u) => u.id));
    given.forEach((u, j) => {
      const r = read[j]!;
      for (const key of ['gaugeB', 'gaugeA', 'normB', 'normA', 'rawNormB', 'rawNormA'] as const) {
        expect(Math.abs(u[key] - r[key])).toBeLessThan(1e-14 * Math.abs(r[key]));
      }
      expect(Number.isNaN(u.maxAbsB)).toBe(true);
      expect(Math.abs(withMax[j]!.maxAbsA - r.maxAbsA)).toBeLessThan(1e-14 * r.maxAbsA);
    });
  });
});

// LoRA-LEGO computed in the inputs' span (src/merge/methods/lego.ts) against an explicit computation
// written out here: dense canonical [b; a] vectors, the same k-means (same seed, same canonical
// order), dense centroids and the reweighting of algorithms.md §1 on them. Random modules with
// negative weights and scales, unequal ranks and a zero unit; every paramReweight × outputReweight
// variant and every unit feature; a span whose Gram is invertible (c ≤ m, n) and one that is not.
// Tolerance: 1e-9 relative to the largest entry compared (the two routes differ only in rounding).
import { describe, expect, it } from 'vitest';
import { moduleInput, randomMat, runMethodResult } from './helpers.ts';
import type { ModuleInput, ModuleResult } from '../../../src/merge/method-types.ts';
import { kmeans } from '../../../src/linalg/kmeans.ts';
import { deriveSeed } from '../../../src/merge/methods/shared.ts';
import type { Mat } from '../../../src/tensor/matrix.ts';

const TOL = 1e-9;

interface Unit {
  readonly id: string;
  /** [b; a] as the clustered member. */
  readonly u: number[];
  /** What k-means sees. */
  readonly feature: number[];
}

const norm = (x: readonly number[]) => Math.sqrt(x.reduce((s, v) => s + v * v, 0));
const normInf = (x: readonly number[]) => x.reduce((s, v) => Math.max(s, Math.abs(v)), 0);

/** The pool of explicit unit vectors, as algorithms.md §1.1–1.5 defines them. */
function explicitUnits(inputs: readonly ModuleInput[], feature: string): Unit[] {
  const units: Unit[] = [];
  for (const input of inputs) {
    const m = input.B.rows;
    const n = input.A.cols;
    const root = Math.sqrt(Math.abs(input.scale));
    const sign = input.scale < 0 ? -1 : 1;
    for (let i = 0; i < input.rank; i++) {
      let b = Array.from({ length: m }, (_, row) => input.B.data[row * input.rank + i]! * root * sign * input.weight);
      let a = Array.from({ length: n }, (_, col) => input.A.data[i * n + col]! * root);
      if (norm(b) === 0 || norm(a) === 0) continue;
      if (feature === 'canonical') {
        const rho = Math.sqrt(norm(b) / norm(a));
        let dom = 0;
        a.forEach((v, j) => (Math.abs(v) > Math.abs(a[dom]!) ? (dom = j) : 0));
        const s = a[dom]! < 0 ? -1 : 1;
        b = b.map((v) => (v * s) / rho);
        a = a.map((v) => v * s * rho);
      }
      const u = [...b, ...a];
      const f = feature === 'normalizedParts' ? [...b.map((v) => v / (norm(b) + 1e-8)), ...a.map((v) => v / (norm(a) + 1e-8))] : u;
      units.push({ id: `${input.index}:${input.name}:test.module:${i}`, u, feature: f });
    }
  }
  return units;
}

interface Explicit {
  readonly B: number[][]; // columns = output units (m each)
  readonly A: number[][]; // rows (n each)
  readonly assignment: Record<string, number>;
  readonly clusterSizes: number[];
  readonly inertia: number;
}

function explicitLego(inputs: readonly ModuleInput[], params: Record<string, unknown>, seed: number): Explicit {
  const m = inputs[0]!.B.rows;
  const feature = (params.msuFeature as string) ?? 'canonical';
  const init = (params.init as string) ?? 'kmeans++';
  let units = explicitUnits(inputs, feature);
  if (init !== 'firstK') {
    const lex = (x: readonly number[], y: readonly number[]) => {
      for (let t = 0; t < x.length; t++) if (x[t] !== y[t]) return x[t]! - y[t]!;
      return 0;
    };
    units = units.map((u, i) => ({ u, i })).sort((x, y) => lex(x.u.u, y.u.u) || x.i - y.i).map((x) => x.u);
  }
  const k = params.k as number;
  const d = units[0]!.u.length;
  const points: Mat = { rows: units.length, cols: d, data: Float64Array.from(units.flatMap((x) => x.feature)) };
  const km = kmeans(points, { k, init: init as 'kmeans++', seed: deriveSeed(seed, 'kmeans'), maxIterations: 100, nInit: (params.nInit as number) ?? 1 });
  const live = km.clusterSizes.map((s, j) => (s > 0 ? j : -1)).filter((j) => j >= 0);
  const refRank = Math.round(inputs.reduce((s, i) => s + i.rank, 0) / inputs.length);
  const gammaOut = params.outputReweight === 'none' ? 1 : Math.sqrt(refRank / live.length);
  const B: number[][] = [];
  const A: number[][] = [];
  for (const j of live) {
    const members = units.filter((_, i) => km.labels[i] === j).map((x) => x.u);
    const cen = Array.from({ length: d }, (_, t) => members.reduce((s, x) => s + x[t]!, 0) / members.length);
    const mean = (f: (x: number[]) => number) => members.reduce((s, x) => s + f(x), 0) / members.length;
    let gb = 1;
    let ga = 1;
    switch (params.paramReweight ?? 'l2Concat') {
      case 'l2Concat':
        gb = ga = mean(norm) / norm(cen);
        break;
      case 'linfConcat':
        gb = ga = mean(normInf) / (normInf(cen) + 1e-12);
        break;
      case 'l2Parts':
        gb = mean((x) => norm(x.slice(0, m))) / norm(cen.slice(0, m));
        ga = mean((x) => norm(x.slice(m))) / norm(cen.slice(m));
        break;
      default:
        break;
    }
    B.push(cen.slice(0, m).map((v) => v * gb * gammaOut));
    A.push(cen.slice(m).map((v) => v * ga));
  }
  const assignment: Record<string, number> = {};
  units.forEach((x, i) => (assignment[x.id] = live.indexOf(km.labels[i]!)));
  return { B, A, assignment, clusterSizes: live.map((j) => km.clusterSizes[j]!), inertia: km.inertia };
}

function runLego(inputs: readonly ModuleInput[], params: Record<string, unknown>, seed: number): Promise<ModuleResult> {
  return runMethodResult('lego', inputs, params, seed);
}

/** Inputs with ranks 3, 5, 2, negative weight and scale, and one zero unit (b = 0). */
function inputsFor(m: number, n: number, seed: number): ModuleInput[] {
  const specs = [
    { r: 3, weight: 1, scale: 2 },
    { r: 5, weight: -0.7, scale: 0.5 },
    { r: 2, weight: 0.4, scale: -1.5 },
  ];
  return specs.map((s, t) => {
    const B = randomMat(m, s.r, seed + 10 * t + 1);
    const A = randomMat(s.r, n, seed + 10 * t + 2);
    if (t === 1) for (let row = 0; row < m; row++) B.data[row * s.r + 3] = 0;
    return moduleInput(t, B, A, { weight: s.weight, scale: s.scale });
  });
}

function worstRelative(actual: Mat, expectedRows: readonly (readonly number[])[], columns: boolean): number {
  let scale = 0;
  let worst = 0;
  expectedRows.forEach((row, q) =>
    row.forEach((v, t) => {
      const got = columns ? actual.data[t * actual.cols + q]! : actual.data[q * actual.cols + t]!;
      scale = Math.max(scale, Math.abs(v));
      worst = Math.max(worst, Math.abs(got - v));
    }),
  );
  return worst / scale;
}

/** Largest entry of |B − B_cat·P| and |A − Q·A_cat|, relative to the largest entry of B and A. */
function coefficientDefect(inputs: readonly ModuleInput[], r: ModuleResult): number {
  const { P, Q, k } = r.coefficients!;
  const c = inputs.reduce((s, i) => s + i.rank, 0);
  const m = r.B.rows;
  const n = r.A.cols;
  let worst = 0;
  let scale = 0;
  let offset = 0;
  const B = new Float64Array(m * k);
  const A = new Float64Array(k * n);
  for (const input of inputs) {
    for (let j = 0; j < input.rank; j++) {
      const a = offset + j;
      for (let q = 0; q < k; q++) {
        for (let row = 0; row < m; row++) B[row * k + q]! += input.B.data[row * input.rank + j]! * P[a * k + q]!;
        for (let col = 0; col < n; col++) A[q * n + col]! += Q[q * c + a]! * input.A.data[j * n + col]!;
      }
    }
    offset += input.rank;
  }
  B.forEach((v, i) => ((worst = Math.max(worst, Math.abs(v - r.B.data[i]!))), (scale = Math.max(scale, Math.abs(v)))));
  A.forEach((v, i) => ((worst = Math.max(worst, Math.abs(v - r.A.data[i]!))), (scale = Math.max(scale, Math.abs(v)))));
  return worst / scale;
}

describe('lego in the inputs’ span equals the explicit unit-vector computation', () => {
  const shapes: [string, number, number][] = [
    ['invertible span (c = 10 ≤ m, n)', 14, 11],
    ['rank-deficient span (c = 10 > m = 6)', 6, 13],
  ];
  for (const [title, m, n] of shapes) {
    for (const paramReweight of ['none', 'l2Concat', 'linfConcat', 'l2Parts']) {
      for (const outputReweight of ['none', 'sqrtRank']) {
        it(`${title}: ${paramReweight} / ${outputReweight}: same clusters, centroids and inertia (${TOL} relative)`, async () => {
          const inputs = inputsFor(m, n, m * 100 + n);
          const params = { k: 4, paramReweight, outputReweight };
          const r = await runLego(inputs, params, 11);
          const e = explicitLego(inputs, params, 11);
          expect(r.details!.poolSize).toBe(9); // 10 units, one zero
          expect(r.details!.assignment).toEqual(e.assignment);
          expect(r.details!.clusterSizes).toEqual(e.clusterSizes);
          expect(Math.abs((r.details!.inertia as number) - e.inertia)).toBeLessThan(TOL * e.inertia);
          expect(worstRelative(r.B, e.B, true)).toBeLessThan(TOL);
          expect(worstRelative(r.A, e.A, false)).toBeLessThan(TOL);
          expect(coefficientDefect(inputs, r)).toBeLessThan(TOL);
        });
      }
    }
  }

  for (const [feature, init] of [
    ['raw', 'kmeans++'],
    ['normalizedParts', 'kmeans++'],
    ['canonical', 'firstK'],
    ['canonical', 'randomSubset'],
    ['raw', 'firstK'],
  ] as const) {
    it(`msuFeature ${feature}, init ${init}, k = 3, nInit 3: same clusters and centroids`, async () => {
      const inputs = inputsFor(9, 7, 5);
      const params = { k: 3, msuFeature: feature, init, nInit: 3 };
      const r = await runLego(inputs, params, 3);
      const e = explicitLego(inputs, params, 3);
      expect(r.details!.assignment).toEqual(e.assignment);
      expect(Math.abs((r.details!.inertia as number) - e.inertia)).toBeLessThan(TOL * e.inertia);
      expect(worstRelative(r.B, e.B, true)).toBeLessThan(TOL);
      expect(worstRelative(r.A, e.A, false)).toBeLessThan(TOL);
      expect(coefficientDefect(inputs, r)).toBeLessThan(TOL);
    });
  }

  it('shuffled inputs and permuted ranks give bit-identical clusters and inertia, outputs to 1e-13 (the points’ Gram is position-free)', async () => {
    const inputs = inputsFor(16, 12, 21);
    const perm = [4, 0, 3, 1, 2];
    const x = inputs[1]!;
    const B = randomMat(16, 5, 0);
    const A = randomMat(5, 12, 0);
    perm.forEach((src, dst) => {
      for (let row = 0; row < 16; row++) B.data[row * 5 + dst] = x.B.data[row * 5 + src]!;
      A.data.set(x.A.data.subarray(src * 12, (src + 1) * 12), dst * 12);
    });
    const moved = [inputs[2]!, { ...x, B, A }, inputs[0]!];
    for (const params of [{ k: 4 }, { k: 3, msuFeature: 'raw', nInit: 3 }, { k: 5, init: 'randomSubset', paramReweight: 'linfConcat' }]) {
      const r = await runLego(inputs, params, 5);
      const s = await runLego(moved, params, 5);
      const rank = (id: string) => Number(id.split(':')[3]);
      // Map the moved run's ids (permuted rank indices of input 1) back to the original ones.
      const back: Record<string, number> = {};
      for (const [id, cluster] of Object.entries(s.details!.assignment as Record<string, number>)) {
        back[id.startsWith('1:') ? id.replace(/:\d+$/, `:${perm[rank(id)]}`) : id] = cluster;
      }
      expect(back).toEqual(r.details!.assignment);
      expect(s.details!.inertia).toBe(r.details!.inertia);
      const worst = Math.max(
        ...Array.from(r.B.data, (v, i) => Math.abs(v - s.B.data[i]!)),
        ...Array.from(r.A.data, (v, i) => Math.abs(v - s.A.data[i]!)),
      );
      const scale = Math.max(...Array.from(r.B.data, Math.abs), ...Array.from(r.A.data, Math.abs));
      expect(worst / scale).toBeLessThan(1e-13);
    }
  });

  it('a repeated adapter: its units are equal points (distance exactly 0), so clusters, empty clusters and inertia match', async () => {
    const B = randomMat(10, 4, 71);
    const A = randomMat(4, 8, 72);
    const inputs = [moduleInput(0, B, A), moduleInput(1, B, A, { scale: 1 })];
    for (const params of [{ k: 4 }, { k: 5, msuFeature: 'raw' }, { k: 2, paramReweight: 'l2Parts' }]) {
      const r = await runLego(inputs, params, 8);
      const e = explicitLego(inputs, params, 8);
      expect(r.details!.assignment).toEqual(e.assignment);
      expect(r.details!.clusterSizes).toEqual(e.clusterSizes);
      if (params.k >= 4) {
        expect(r.details!.inertia).toBe(0);
        expect(r.A.rows).toBe(4); // four distinct units, the fifth cluster stays empty
      }
      expect(worstRelative(r.B, e.B, true)).toBeLessThan(TOL);
      expect(worstRelative(r.A, e.A, false)).toBeLessThan(TOL);
    }
  });

  it('every input and unit dropped (zero weight): an empty rank-0 result with empty coefficients', async () => {
    const inputs = inputsFor(5, 4, 9).map((i) => ({ ...i, weight: 0 }));
    const r = await runLego(inputs, { k: 2 }, 1);
    expect(r.A.rows).toBe(0);
    expect(r.details!.poolSize).toBe(0);
    expect(r.coefficients!.k).toBe(0);
  });
});

// LoRA-LEGO (algorithms.md §1): pool the MSUs of all inputs per module, k-means
// them, the centroids form a rank-k LoRA, then dual reweighting.
// Weights: w_t multiplies b of every unit of input t before canonicalisation, so a
// negative weight flips the rank-one term and the canonical gauge absorbs the sign.
import type { MergeMethodDescriptor, ModuleResult } from '../method-types.ts';
import { PER_ADAPTER_WEIGHT } from '../method-types.ts';
import { zeros, type Mat } from '../../tensor/matrix.ts';
import { decomposeModule } from '../../units/decompose-module.ts';
import { normalizeParts } from '../../units/canonicalize-unit.ts';
import { msuIdString, type MsuFeature } from '../../units/msu.ts';
import { kmeans, KMEANS_INITS, type KmeansInit } from '../../linalg/kmeans.ts';
import { deriveSeed } from './shared.ts';
import { scratchF64 } from '../../util/scratch.ts';
import { outputF64, releaseOutput } from '../kernels/output-pool.ts';

export const PARAM_REWEIGHTS = ['none', 'l2Concat', 'linfConcat', 'l2Parts'] as const;
export const OUTPUT_REWEIGHTS = ['none', 'sqrtRank'] as const;

function norm2(x: ArrayLike<number>, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s);
}
function normInf(x: ArrayLike<number>, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s = Math.max(s, Math.abs(x[i]!));
  return s;
}

function compareRows(data: Float64Array, x: number, y: number, d: number): number {
  for (let t = 0; t < d; t++) {
    const diff = data[x * d + t]! - data[y * d + t]!;
    if (diff !== 0) return diff;
  }
  return x - y;
}

export const legoMethod: MergeMethodDescriptor = {
  name: 'lego',
  title: 'LoRA-LEGO (rank-wise clustering)',
  summary: 'Clusters the rank-one units of all inputs per module with k-means; the k centroids form the merged LoRA, with parameter and output reweighting.',
  paperUrl: 'https://arxiv.org/abs/2409.16167',
  actsOnDelta: false,
  orderFree: true,
  params: {
    k: { type: 'number', default: null, nullable: true, integer: true, min: 1, description: 'number of clusters = output rank (unset: largest input rank)' },
    msuFeature: { type: 'enum', values: ['canonical', 'raw', 'normalizedParts'], default: 'canonical', description: 'unit representation for clustering' },
    init: { type: 'enum', values: [...KMEANS_INITS], default: 'kmeans++', description: 'k-means initialisation (firstK: first k units in input order)' },
    nInit: { type: 'number', default: 1, integer: true, min: 1, max: 100, description: 'k-means restarts; the lowest inertia wins' },
    maxIterations: { type: 'number', default: 100, integer: true, min: 1, max: 10_000, description: 'Lloyd iterations at most' },
    paramReweight: { type: 'enum', values: [...PARAM_REWEIGHTS], default: 'l2Concat', description: 'rescale centroids against norm decay' },
    outputReweight: { type: 'enum', values: [...OUTPUT_REWEIGHTS], default: 'sqrtRank', description: 'γ_out = √(r_ref / k) against variance expansion' },
  },
  perAdapter: PER_ADAPTER_WEIGHT,
  run: async (ctx): Promise<ModuleResult> => {
    const p = ctx.params;
    const feature = p.msuFeature as MsuFeature;
    const init = p.init as KmeansInit;
    // firstK follows the given input order (deterministic tests); seeded inits use the canonical order.
    const inputs = [...ctx.inputs];
    const pool = decomposeModule(
      ctx.module,
      inputs.map((i) => ({ adapterIndex: i.index, adapterName: i.name, B: i.B, A: i.A, scale: i.scale, weight: i.weight })),
      // The pool is only read below (copied into the member rows), so its storage is recycled.
      { feature: feature === 'canonical' ? 'canonical' : 'raw', dropZero: true, allocate: (length) => outputF64(length, true) },
    );
    const m = ctx.outFeatures;
    const n = ctx.inFeatures;
    const count = pool.ids.length;
    const d = m + n;
    // Member vectors u = [b; a] (rows), and the clustering features.
    // Work matrices in reused buffers (fully overwritten below; nothing of them escapes the call).
    const unsorted: Mat = { rows: count, cols: d, data: scratchF64('lego.unsorted', count * d) };
    const poolB = pool.B.data;
    const u = unsorted.data;
    // Blocked transpose of B's columns (a block of rows stays in cache across the units).
    for (let r0 = 0; r0 < m; r0 += 256) {
      const r1 = Math.min(m, r0 + 256);
      for (let j = 0; j < count; j++) {
        const o = j * d;
        for (let row = r0; row < r1; row++) u[o + row] = poolB[row * count + j]!;
      }
    }
    for (let j = 0; j < count; j++) u.set(pool.A.data.subarray(j * n, (j + 1) * n), j * d + m);
    releaseOutput(pool.B.data, pool.A.data);
    // Seeded inits see the units in a canonical order (lexicographic on the unit vectors), so
    // neither input order nor rank order inside an input can change the result.
    const order = Array.from({ length: count }, (_, j) => j);
    if (init !== 'firstK') order.sort((x, y) => compareRows(unsorted.data, x, y, d));
    const members: Mat = { rows: count, cols: d, data: scratchF64('lego.members', count * d) };
    order.forEach((src, dst) => members.data.set(unsorted.data.subarray(src * d, (src + 1) * d), dst * d));
    const ids = order.map((j) => pool.ids[j]!);
    let features: Mat = members;
    if (feature === 'normalizedParts') {
      features = zeros(count, d);
      features.data.set(members.data);
      for (let j = 0; j < count; j++) {
        normalizeParts(features.data.subarray(j * d, j * d + m), features.data.subarray(j * d + m, (j + 1) * d));
      }
    }
    const kRequested = (p.k as number | null) ?? Math.max(1, ...ctx.inputs.map((i) => i.rank));
    if (count === 0) {
      return { B: zeros(m, 0), A: zeros(0, n), details: { poolSize: 0, k: kRequested, clusterSizes: [], inertia: 0, assignment: {} } };
    }
    // k ≥ P: every unit is its own cluster (exact concatenation).
    const result =
      kRequested >= count
        ? { labels: Int32Array.from({ length: count }, (_, i) => i), clusterSizes: new Array<number>(count).fill(1), inertia: 0, iterations: 0 }
        : kmeans(features, {
            k: kRequested,
            init,
            seed: deriveSeed(ctx.seed, 'kmeans'),
            maxIterations: p.maxIterations as number,
            nInit: p.nInit as number,
          });
    const k = result.clusterSizes.length;
    // Centroids of the member vectors (equal to the feature centroids unless normalizedParts).
    const sums = scratchF64('lego.sums', k * d, true);
    const memberNorm2 = new Float64Array(k);
    const memberNormInf = new Float64Array(k);
    const memberNormB = new Float64Array(k);
    const memberNormA = new Float64Array(k);
    const md = members.data;
    for (let i = 0; i < count; i++) {
      const j = result.labels[i]!;
      const o = j * d;
      const src = i * d;
      for (let t = 0; t < d; t++) sums[o + t]! += md[src + t]!;
      memberNorm2[j]! += norm2(members.data, i * d, (i + 1) * d);
      memberNormInf[j]! += normInf(members.data, i * d, (i + 1) * d);
      memberNormB[j]! += norm2(members.data, i * d, i * d + m);
      memberNormA[j]! += norm2(members.data, i * d + m, (i + 1) * d);
    }
    const live = result.clusterSizes.map((s, j) => (s > 0 ? j : -1)).filter((j) => j >= 0);
    const rank = live.length;
    const refRank = Math.round(ctx.inputs.reduce((s, i) => s + i.rank, 0) / Math.max(1, ctx.inputs.length));
    const gammaOut = p.outputReweight === 'sqrtRank' ? Math.sqrt(refRank / rank) : 1;
    // Every entry of B and A is written below; the output pool recycles them (executeMerge).
    const B: Mat = { rows: m, cols: rank, data: outputF64(m * rank) };
    const A: Mat = { rows: rank, cols: n, data: outputF64(rank * n) };
    const gammas: number[] = [];
    live.forEach((j, out) => {
      const size = result.clusterSizes[j]!;
      const c = new Float64Array(d);
      for (let t = 0; t < d; t++) c[t] = sums[j * d + t]! / size;
      let gb = 1;
      let ga = 1;
      switch (p.paramReweight) {
        case 'l2Concat': {
          const cn = norm2(c, 0, d);
          gb = ga = cn > 0 ? memberNorm2[j]! / size / cn : 1;
          break;
        }
        case 'linfConcat': {
          gb = ga = memberNormInf[j]! / size / (normInf(c, 0, d) + 1e-12);
          break;
        }
        case 'l2Parts': {
          const cb = norm2(c, 0, m);
          const ca = norm2(c, m, d);
          gb = cb > 0 ? memberNormB[j]! / size / cb : 1;
          ga = ca > 0 ? memberNormA[j]! / size / ca : 1;
          break;
        }
        default:
          break;
      }
      gammas.push(gb * ga);
      for (let row = 0; row < m; row++) B.data[row * rank + out] = c[row]! * gb * gammaOut;
      for (let col = 0; col < n; col++) A.data[out * n + col] = c[m + col]! * ga;
    });
    const assignment: Record<string, number> = {};
    ids.forEach((id, i) => {
      assignment[msuIdString(id)] = live.indexOf(result.labels[i]!);
    });
    return {
      B,
      A,
      details: {
        poolSize: count,
        k: kRequested,
        clusterSizes: live.map((j) => result.clusterSizes[j]!),
        emptyClusters: Math.min(kRequested, count) - rank,
        inertia: result.inertia,
        iterations: result.iterations,
        gammaOut,
        termScales: gammas,
        assignment,
      },
      warnings: rank < Math.min(kRequested, count) ? [`module ${ctx.module}: ${Math.min(kRequested, count) - rank} empty cluster(s); merged rank ${rank}`] : [],
    };
  },
};

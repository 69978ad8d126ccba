// LoRA-LEGO (algorithms.md §1): pool the MSUs of all inputs per module, k-means
// them, the centroids form a rank-k LoRA, then dual reweighting.
// Weights: w_t multiplies b of every unit of input t before canonicalisation, so a
// negative weight flips the rank-one term and the canonical gauge absorbs the sign.
//
// Everything runs in the inputs' span (kernels/input-span.ts), never on (m+n)-long unit vectors:
// unit i is u_i = [α_i·B_cat[:, c_i]; β_i·A_cat[c_i, :]] for scalars α_i, β_i (fold and gauge,
// src/units/unit-gauges.ts), so the units' Gram matrix is α_iα_j·G_B[c_i, c_j] + β_iβ_j·G_A[c_i, c_j]
// from the span's Grams, and k-means runs on points with exactly that Gram (dimension ≤ P): the same
// distances, centroids and inertia as on the unit vectors. A centroid is the coefficient vector
// (α_i / |S_j| over its members), mapped to B and A once, so the result carries its coefficients.
import type { MergeMethodDescriptor, ModuleContext, ModuleResult } from '../method-types.ts';
import { PER_ADAPTER_WEIGHT } from '../method-types.ts';
import type { Mat } from '../../tensor/matrix.ts';
import { zeros } from '../../tensor/matrix.ts';
import { unitEntry, unitGauges, type UnitGauge } from '../../units/unit-gauges.ts';
import { msuIdString, type MsuFeature } from '../../units/msu.ts';
import { kmeans, KMEANS_INITS, type KmeansInit } from '../../linalg/kmeans.ts';
import { deriveSeed } from './shared.ts';
import { spanOf, type InputSpan } from '../kernels/input-span.ts';
import { outputF64 } from '../kernels/output-pool.ts';

export const PARAM_REWEIGHTS = ['none', 'l2Concat', 'linfConcat', 'l2Parts'] as const;
export const OUTPUT_REWEIGHTS = ['none', 'sqrtRank'] as const;

/** normalizeParts' guard: each part is divided by ‖part‖ + this. */
const NORMALIZED_PARTS_EPS = 1e-8;

/**
 * Lexicographic order of the units' [b; a] vectors, entries computed on the fly from the raw
 * factors (the first entry usually decides); pool position on exact ties.
 */
function compareUnits(ctx: ModuleContext, units: readonly UnitGauge[], x: number, y: number): number {
  const ux = units[x]!;
  const uy = units[y]!;
  const ix = ctx.inputs[ux.source]!;
  const iy = ctx.inputs[uy.source]!;
  const d = ctx.outFeatures + ctx.inFeatures;
  for (let t = 0; t < d; t++) {
    const diff = unitEntry(ux, ix.B, ix.A, t) - unitEntry(uy, iy.B, iy.A, t);
    if (diff !== 0) return diff;
  }
  return x - y;
}

/**
 * Rounding level under which the remaining Schur complement of the points' Gram matrix counts as
 * zero (relative to its largest diagonal entry, times the number of points): what is left is below
 * the rounding of the Gram entries themselves.
 */
const GRAM_PIVOT_FLOOR = 2.220446049250313e-16;

/**
 * The clustering features' Gram matrix in the units' (canonical) order, G[i, j] = fb_i·fb_j·G_B[c_i, c_j]
 * + fa_i·fa_j·G_A[c_i, c_j], and points y_i (rows of Y, P×d, d ≤ P) with Y·Yᵀ = G from a Cholesky
 * factorisation with diagonal pivoting (largest remaining diagonal, first on ties); a point stops
 * taking coordinates once its remaining diagonal is below GRAM_PIVOT_FLOOR, so units that are
 * equal bit for bit (a repeated adapter) get equal points, at distance exactly 0 as before. Every Gram entry is one dot product of the two raw vectors whatever their
 * position, so G, and with it Y, k-means and the clusters, are bit-for-bit independent of the input
 * order and of the rank order inside an input.
 */
function gramPoints(span: InputSpan, columns: readonly number[], fb: Float64Array, fa: Float64Array): Mat {
  const { c, GB, GA } = span;
  const count = columns.length;
  const G = new Float64Array(count * count);
  for (let i = 0; i < count; i++) {
    for (let j = i; j < count; j++) {
      const x = Math.min(columns[i]!, columns[j]!);
      const y = Math.max(columns[i]!, columns[j]!);
      const v = fb[i]! * fb[j]! * GB[x * c + y]! + fa[i]! * fa[j]! * GA[x * c + y]!;
      G[i * count + j] = v;
      G[j * count + i] = v;
    }
  }
  const L = new Float64Array(count * count); // L[i·count + s]: coordinate s of point i
  const d = new Float64Array(count);
  let top = 0;
  for (let i = 0; i < count; i++) {
    d[i] = G[i * count + i]!;
    top = Math.max(top, d[i]!);
  }
  const floor = GRAM_PIVOT_FLOOR * count * top;
  const done = new Uint8Array(count);
  let rank = 0;
  for (; rank < count; rank++) {
    let p = -1;
    for (let i = 0; i < count; i++) if (!done[i] && (p < 0 || d[i]! > d[p]!)) p = i;
    if (p < 0 || !(d[p]! > floor)) break;
    const pivot = Math.sqrt(d[p]!);
    done[p] = 1;
    // d[p] / pivot rather than pivot: a point whose Gram row equals p's bit for bit gets exactly
    // this coordinate below (its numerator is computed as d[p] was), so duplicates stay equal.
    L[p * count + rank] = d[p]! / pivot;
    for (let i = 0; i < count; i++) {
      if (done[i]) continue;
      let v = G[i * count + p]!;
      for (let t = 0; t < rank; t++) v -= L[i * count + t]! * L[p * count + t]!;
      const l = v / pivot;
      L[i * count + rank] = l;
      d[i]! -= l * l;
      // What is left of this point is rounding: its coordinates are complete.
      if (!(d[i]! > floor)) done[i] = 1;
    }
  }
  const dim = Math.max(1, rank);
  const Y: Mat = { rows: count, cols: dim, data: new Float64Array(count * dim) };
  for (let i = 0; i < count; i++) for (let t = 0; t < rank; t++) Y.data[i * dim + t] = L[i * count + t]!;
  return Y;
}

/**
 * B = B_cat·P and A = Q·A_cat for coefficients with one non-zero per unit (its cluster's column of
 * P, row of Q): span.combine's result in O((m + n)·c) instead of O((m + n)·c·k).
 */
function combineAssigned(
  ctx: ModuleContext,
  span: InputSpan,
  P: Float64Array,
  Q: Float64Array,
  k: number,
  columns: readonly number[],
  outIndex: Int32Array,
  labels: Int32Array,
): { B: Mat; A: Mat } {
  const { m, n, c } = span;
  const target = new Int32Array(c).fill(-1);
  columns.forEach((col, i) => (target[col] = outIndex[labels[i]!]!));
  const B: Mat = { rows: m, cols: k, data: outputF64(m * k, true) };
  const A: Mat = { rows: k, cols: n, data: outputF64(k * n, true) };
  const bd = B.data;
  const ad = A.data;
  ctx.inputs.forEach((input, t) => {
    const r = input.rank;
    const offset = span.offsets[t]!;
    const outs = target.subarray(offset, offset + r);
    const coef = Float64Array.from(outs, (out, j) => (out < 0 ? 0 : P[(offset + j) * k + out]!));
    const src = input.B.data;
    // A dropped unit has coefficient 0 and any target (0): no branch in the loop.
    const to = Int32Array.from(outs, (out) => Math.max(out, 0));
    const r4 = r - (r % 4);
    for (let i = 0; i < m; i++) {
      const o = i * k;
      const s = i * r;
      let j = 0;
      for (; j < r4; j += 4) {
        const x0 = src[s + j]! * coef[j]!;
        const x1 = src[s + j + 1]! * coef[j + 1]!;
        const x2 = src[s + j + 2]! * coef[j + 2]!;
        const x3 = src[s + j + 3]! * coef[j + 3]!;
        bd[o + to[j]!]! += x0;
        bd[o + to[j + 1]!]! += x1;
        bd[o + to[j + 2]!]! += x2;
        bd[o + to[j + 3]!]! += x3;
      }
      for (; j < r; j++) bd[o + to[j]!]! += src[s + j]! * coef[j]!;
    }
    const a = input.A.data;
    for (let j = 0; j < r; j++) {
      const out = outs[j]!;
      if (out < 0) continue;
      const w = Q[out * c + offset + j]!;
      const o = out * n;
      const s = j * n;
      for (let col = 0; col < n; col++) ad[o + col]! += w * a[s + col]!;
    }
  });
  return { B, A };
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
    const m = ctx.outFeatures;
    const n = ctx.inFeatures;
    const span = spanOf(ctx.inputs);
    const c = span.c;
    // Norms from the Gram diagonals; the factors are read only for the sign rule (and linfConcat's maxima).
    const diagB = new Float64Array(c);
    const diagA = new Float64Array(c);
    for (let a = 0; a < c; a++) {
      diagB[a] = span.GB[a * c + a]!;
      diagA[a] = span.GA[a * c + a]!;
    }
    const pool = unitGauges(
      ctx.module,
      ctx.inputs.map((i) => ({ adapterIndex: i.index, adapterName: i.name, B: i.B, A: i.A, scale: i.scale, weight: i.weight })),
      {
        feature: feature === 'canonical' ? 'canonical' : 'raw',
        dropZero: true,
        squaredNorms: { B: diagB, A: diagA },
        maxAbs: p.paramReweight === 'linfConcat',
      },
    );
    const count = pool.length;
    // firstK follows the given input order (deterministic tests); seeded inits see the units in a
    // canonical order (lexicographic on the unit vectors), so neither input order nor rank order
    // inside an input can change the result.
    const order = Array.from({ length: count }, (_, j) => j);
    if (init !== 'firstK') order.sort((x, y) => compareUnits(ctx, pool, x, y));
    const units = order.map((j) => pool[j]!);
    const kRequested = (p.k as number | null) ?? Math.max(1, ...ctx.inputs.map((i) => i.rank));
    if (count === 0) {
      return { B: zeros(m, 0), A: zeros(0, n), coefficients: { P: new Float64Array(0), Q: new Float64Array(0), k: 0 }, details: { poolSize: 0, k: kRequested, clusterSizes: [], inertia: 0, assignment: {} } };
    }
    const columns = units.map((u) => span.offsets[u.source]! + u.rankIndex);
    // Member scalars (the vectors averaged into centroids) and feature scalars (what k-means sees).
    const alpha = Float64Array.from(units, (u) => u.foldB * u.gaugeB);
    const beta = Float64Array.from(units, (u) => u.foldA * u.gaugeA);
    const featureB = feature === 'normalizedParts' ? Float64Array.from(units, (u) => u.foldB / (u.rawNormB + NORMALIZED_PARTS_EPS)) : alpha;
    const featureA = feature === 'normalizedParts' ? Float64Array.from(units, (u) => u.foldA / (u.rawNormA + NORMALIZED_PARTS_EPS)) : beta;
    // k ≥ P: every unit is its own cluster (exact concatenation).
    const result =
      kRequested >= count
        ? { labels: Int32Array.from({ length: count }, (_, i) => i), clusterSizes: new Array<number>(count).fill(1), inertia: 0, iterations: 0 }
        : kmeans(gramPoints(span, columns, featureB, featureA), {
            k: kRequested,
            init,
            seed: deriveSeed(ctx.seed, 'kmeans'),
            maxIterations: p.maxIterations as number,
            nInit: p.nInit as number,
          });
    const live = result.clusterSizes.map((s, j) => (s > 0 ? j : -1)).filter((j) => j >= 0);
    const rank = live.length;
    const outIndex = new Int32Array(result.clusterSizes.length).fill(-1);
    live.forEach((j, out) => (outIndex[j] = out));
    // Centroid coefficients: P[c_i, j] = α_i / |S_j|, Q[j, c_i] = β_i / |S_j|, and the members' mean norms.
    const P = new Float64Array(c * rank);
    const Q = new Float64Array(rank * c);
    const memberNorm2 = new Float64Array(rank);
    const memberNormInf = new Float64Array(rank);
    const memberNormB = new Float64Array(rank);
    const memberNormA = new Float64Array(rank);
    units.forEach((u, i) => {
      const out = outIndex[result.labels[i]!]!;
      const size = result.clusterSizes[result.labels[i]!]!;
      const col = columns[i]!;
      P[col * rank + out]! += alpha[i]! / size;
      Q[out * c + col]! += beta[i]! / size;
      memberNorm2[out]! += Math.sqrt(u.normB * u.normB + u.normA * u.normA);
      memberNormInf[out]! += Math.max(u.maxAbsB, u.maxAbsA);
      memberNormB[out]! += u.normB;
      memberNormA[out]! += u.normA;
    });
    // Centroid norms in c-space: ‖B_cat·p_j‖² = Σ_{a,b ∈ S_j} P[a,j]·P[b,j]·G_B[a,b] (and likewise for A).
    const sqB = new Float64Array(rank);
    const sqA = new Float64Array(rank);
    const membersOf: number[][] = Array.from({ length: rank }, () => []);
    units.forEach((_, i) => membersOf[outIndex[result.labels[i]!]!]!.push(columns[i]!));
    membersOf.forEach((cols, out) => {
      let sb = 0;
      let sa = 0;
      for (const x of cols) {
        const px = P[x * rank + out]!;
        const qx = Q[out * c + x]!;
        for (const y of cols) {
          sb += px * P[y * rank + out]! * span.GB[x * c + y]!;
          sa += qx * Q[out * c + y]! * span.GA[x * c + y]!;
        }
      }
      sqB[out] = Math.max(0, sb);
      sqA[out] = Math.max(0, sa);
    });
    const refRank = Math.round(ctx.inputs.reduce((s, i) => s + i.rank, 0) / Math.max(1, ctx.inputs.length));
    const gammaOut = p.outputReweight === 'sqrtRank' ? Math.sqrt(refRank / rank) : 1;
    // The centroids (output-pool buffers, recycled by executeMerge). linfConcat needs their largest
    // entries, so it scales after the combine; the other variants fold their factors into P and Q first.
    const linf = p.paramReweight === 'linfConcat';
    const scaleB = new Float64Array(rank);
    const scaleA = new Float64Array(rank);
    const gammas: number[] = [];
    const reweight = (infOf: (out: number) => number): void => {
      live.forEach((j, out) => {
        const size = result.clusterSizes[j]!;
        let gb = 1;
        let ga = 1;
        switch (p.paramReweight) {
          case 'l2Concat': {
            const cn = Math.sqrt(sqB[out]! + sqA[out]!);
            gb = ga = cn > 0 ? memberNorm2[out]! / size / cn : 1;
            break;
          }
          case 'linfConcat': {
            gb = ga = memberNormInf[out]! / size / (infOf(out) + 1e-12);
            break;
          }
          case 'l2Parts': {
            const cb = Math.sqrt(sqB[out]!);
            const ca = Math.sqrt(sqA[out]!);
            gb = cb > 0 ? memberNormB[out]! / size / cb : 1;
            ga = ca > 0 ? memberNormA[out]! / size / ca : 1;
            break;
          }
          default:
            break;
        }
        gammas.push(gb * ga);
        scaleB[out] = gb * gammaOut;
        scaleA[out] = ga;
      });
      for (let a = 0; a < c; a++) for (let q = 0; q < rank; q++) P[a * rank + q]! *= scaleB[q]!;
      for (let q = 0; q < rank; q++) for (let a = 0; a < c; a++) Q[q * c + a]! *= scaleA[q]!;
    };
    if (!linf) reweight(() => 0);
    const { B, A } = combineAssigned(ctx, span, P, Q, rank, columns, outIndex, result.labels);
    if (linf) {
      const inf = new Float64Array(rank);
      for (let row = 0; row < m; row++) {
        for (let q = 0; q < rank; q++) inf[q] = Math.max(inf[q]!, Math.abs(B.data[row * rank + q]!));
      }
      for (let q = 0; q < rank; q++) {
        for (let col = 0; col < n; col++) inf[q] = Math.max(inf[q]!, Math.abs(A.data[q * n + col]!));
      }
      reweight((out) => inf[out]!);
      for (let row = 0; row < m; row++) for (let q = 0; q < rank; q++) B.data[row * rank + q]! *= scaleB[q]!;
      for (let q = 0; q < rank; q++) for (let col = 0; col < n; col++) A.data[q * n + col]! *= scaleA[q]!;
    }
    const assignment: Record<string, number> = {};
    units.forEach((u, i) => {
      assignment[msuIdString(u.id)] = outIndex[result.labels[i]!]!;
    });
    return {
      B,
      A,
      coefficients: { P, Q, k: rank },
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

// cat, linear (exact, optional recompression) and svd: methods that act on the
// weighted sum Σ w_t s_t B_t A_t, computed in factored form (algorithms.md §3.2, §6.1).
import type { MergeMethodDescriptor, ModuleContext, ModuleInput, ModuleResult, SpanCoefficients } from '../method-types.ts';
import { PER_ADAPTER_WEIGHT } from '../method-types.ts';
import { lowRankSvd, rankTolerance } from '../../linalg/low-rank-svd.ts';
import { truncateSvd } from '../../linalg/truncate.ts';
import { zeros, type Mat } from '../../tensor/matrix.ts';
import { clampSymmetric, quantileLinear } from '../kernels/quantile.ts';
import { outputRank, weightedConcat } from './shared.ts';
import { outputF64, releaseOutput } from '../kernels/output-pool.ts';
import { spanOf } from '../kernels/input-span.ts';
import { svdLeading } from '../../linalg/svd-small.ts';

/**
 * How far UᵀU (and VᵀV) of a span-route SVD may stray from I, entry-wise, before the route is
 * refused and the Householder route runs instead: the a-posteriori certificate of the Cholesky path.
 */
export const SPAN_ORTHOGONALITY_TOLERANCE = 1e-9;

/** Coefficients of the exact weighted concatenation: P = diag(coef per column), Q = I. */
function concatCoefficients(ctx: ModuleContext, coef: (i: ModuleInput) => number): SpanCoefficients {
  const c = ctx.inputs.reduce((s, i) => s + i.rank, 0);
  const P = new Float64Array(c * c);
  const Q = new Float64Array(c * c);
  let a = 0;
  for (const input of ctx.inputs) {
    const w = coef(input);
    for (let j = 0; j < input.rank; j++, a++) {
      P[a * c + a] = w;
      Q[a * c + a] = 1;
    }
  }
  return { P, Q, k: c };
}

/** Max over i, j of |Xᵀ·G·X / √(σ_i σ_j) − δ_ij| for X c×k: how far the mapped vectors are from orthonormal. */
function orthogonalityDefect(G: Float64Array, X: Float64Array, c: number, k: number, S: Float64Array): number {
  const GX = new Float64Array(c * k);
  for (let a = 0; a < c; a++) {
    for (let b = 0; b < c; b++) {
      const g = G[a * c + b]!;
      if (g === 0) continue;
      for (let q = 0; q < k; q++) GX[a * k + q]! += g * X[b * k + q]!;
    }
  }
  let worst = 0;
  for (let p = 0; p < k; p++) {
    for (let q = p; q < k; q++) {
      let v = 0;
      for (let a = 0; a < c; a++) v += X[a * k + p]! * GX[a * k + q]!;
      const d = Math.abs(v / Math.sqrt(S[p]! * S[q]!) - (p === q ? 1 : 0));
      if (!(d <= worst)) worst = d;
    }
  }
  return worst;
}

/** Solves R·X = Y in place (R c×c upper triangular, Y c×k row-major). */
function solveUpper(R: Float64Array, c: number, Y: Float64Array, k: number): void {
  for (let i = c - 1; i >= 0; i--) {
    const rii = R[i * c + i]!;
    for (let l = i + 1; l < c; l++) {
      const r = R[i * c + l]!;
      if (r === 0) continue;
      for (let q = 0; q < k; q++) Y[i * k + q]! -= r * Y[l * k + q]!;
    }
    for (let q = 0; q < k; q++) Y[i * k + q]! /= rii;
  }
}

/**
 * The truncated SVD of Σ coef_t·B_t·A_t entirely in the inputs' span (kernels/input-span.ts): core
 * K = R_B·D·R_Aᵀ (c×c), K = X·Σ·Yᵀ, B = B_cat·R_B⁻¹·X_k·√Σ_k, A = √Σ_k·Y_kᵀ·R_A⁻ᵀ·A_cat. Null when the
 * span's R is not invertible or the result fails its orthogonality certificate; the caller then
 * takes the Householder route (src/linalg/low-rank-svd.ts), which gives the same result.
 */
function svdInSpan(ctx: ModuleContext, coef: (i: ModuleInput) => number, rule: { rank?: number; energy?: number }): ModuleResult | null {
  const span = spanOf(ctx.inputs);
  if (!span.invertible) return null;
  const { c, m, n } = span;
  const d = new Float64Array(c);
  let termScale = 0;
  ctx.inputs.forEach((input, t) => {
    const w = coef(input);
    let nb = 0;
    let na = 0;
    for (let a = span.offsets[t]!; a < span.offsets[t + 1]!; a++) {
      d[a] = w;
      nb += span.GB[a * c + a]!;
      na += span.GA[a * c + a]!;
    }
    termScale = Math.max(termScale, Math.abs(w) * Math.sqrt(nb) * Math.sqrt(na));
  });
  if (!d.every(Number.isFinite)) return null;
  const rb = span.RB.data;
  const ra = span.RA.data;
  const K: Mat = { rows: c, cols: c, data: new Float64Array(c * c) };
  for (let i = 0; i < c; i++) {
    for (let j = 0; j < c; j++) {
      let s = 0;
      for (let l = Math.max(i, j); l < c; l++) s += rb[i * c + l]! * d[l]! * ra[j * c + l]!;
      K.data[i * c + j] = s;
    }
  }
  // Every singular value (energy bookkeeping), vectors only for the pairs the rank cap can keep.
  const core = svdLeading(K, rule.rank ?? c);
  const tol = rankTolerance(m, n, Math.max(core.S[0] ?? 0, termScale));
  let rho = 0;
  while (rho < core.S.length && core.S[rho]! > tol && core.S[rho]! > 0) rho++;
  const allS = core.S.slice(0, rho);
  const t = truncateSvd({ U: zeros(0, rho), S: allS, Vt: zeros(rho, 0) }, rule);
  const k = t.rank;
  // P = R_B⁻¹·X_k·√Σ_k and Qᵀ = R_A⁻¹·Y_k·√Σ_k.
  const P = new Float64Array(c * k);
  const Qt = new Float64Array(c * k);
  const kc = core.U.cols;
  for (let a = 0; a < c; a++) {
    for (let q = 0; q < k; q++) {
      const r = Math.sqrt(allS[q]!);
      P[a * k + q] = core.U.data[a * kc + q]! * r;
      Qt[a * k + q] = core.Vt.data[q * c + a]! * r;
    }
  }
  solveUpper(rb, c, P, k);
  solveUpper(ra, c, Qt, k);
  if (orthogonalityDefect(span.GB, P, c, k, allS) > SPAN_ORTHOGONALITY_TOLERANCE) return null;
  if (orthogonalityDefect(span.GA, Qt, c, k, allS) > SPAN_ORTHOGONALITY_TOLERANCE) return null;
  const Q = new Float64Array(k * c);
  for (let a = 0; a < c; a++) for (let q = 0; q < k; q++) Q[q * c + a] = Qt[a * k + q]!;
  const { B, A } = span.combine(P, Q, k);
  // Sign convention of src/linalg (normaliseSigns): the largest-|·| entry of each u_j is positive.
  for (let q = 0; q < k; q++) {
    let best = 0;
    let bestAbs = -1;
    for (let i = 0; i < m; i++) {
      const v = Math.abs(B.data[i * k + q]!);
      if (v > bestAbs) {
        bestAbs = v;
        best = i;
      }
    }
    if (B.data[best * k + q]! < 0) {
      for (let i = 0; i < m; i++) B.data[i * k + q] = -B.data[i * k + q]!;
      for (let j = 0; j < n; j++) A.data[q * n + j] = -A.data[q * n + j]!;
      for (let a = 0; a < c; a++) {
        P[a * k + q] = -P[a * k + q]!;
        Q[q * c + a] = -Q[q * c + a]!;
      }
    }
  }
  let discarded = 0;
  for (let j = k; j < allS.length; j++) discarded += allS[j]! * allS[j]!;
  return {
    B,
    A,
    coefficients: { P, Q, k },
    details: {
      singularValues: Array.from(allS.slice(0, Math.min(allS.length, 64))),
      keptEnergyFraction: t.keptEnergy,
      discardedEnergyFraction: t.discardedEnergy,
      discardedEnergy: discarded,
    },
  };
}

/** Zeroed storage from the output pool (recycled by executeMerge; see kernels/output-pool.ts). */
const pooled = (length: number): Float64Array => outputF64(length, true);

function compress(ctx: ModuleContext, coef: (i: ModuleInput) => number, rank: number | null, energy: number | null, clamp: number | null = null): ModuleResult {
  const recompress = rank !== null || energy !== null;
  if (!recompress) {
    const sum = weightedConcat(ctx.inputs, ctx.outFeatures, ctx.inFeatures, coef, false);
    return { B: sum.B, A: sum.A, details: { concatenatedRank: sum.A.rows }, coefficients: concatCoefficients(ctx, coef) };
  }
  if (clamp === null) {
    const viaSpan = svdInSpan(ctx, coef, { ...(rank === null ? {} : { rank }), ...(energy === null ? {} : { energy }) });
    if (viaSpan) return viaSpan;
  }
  // A recompressed sum is only read by lowRankSvd, so it may live in reused work buffers.
  const sum = weightedConcat(ctx.inputs, ctx.outFeatures, ctx.inFeatures, coef, recompress);
  if (!recompress) return { B: sum.B, A: sum.A, details: { concatenatedRank: sum.A.rows } };
  // Exact thin SVD of the sum from its factors (src/linalg, §6.1), then the balanced split √Σ on both sides.
  const rule = { ...(rank === null ? {} : { rank }), ...(energy === null ? {} : { energy }) };
  // Only the kept singular vectors are formed (S stays complete for the energy bookkeeping);
  // the rank rule runs on S alone (a 0-row U / 0-column Vt carries no vectors).
  const keep = (S: Float64Array): number => truncateSvd({ U: zeros(0, S.length), S, Vt: zeros(S.length, 0) }, rule).rank;
  const svd = lowRankSvd([{ B: sum.B, A: sum.A, weight: 1 }], { vectors: keep, allocate: pooled });
  const t = truncateSvd(svd, { rank: svd.U.cols, allocate: pooled });
  let discarded = 0;
  for (let j = t.rank; j < svd.S.length; j++) discarded += svd.S[j]! * svd.S[j]!;
  let { B, A } = t;
  let clampBound: number | null = null;
  if (clamp !== null) {
    // PEFT/kohya clamp: on the PEFT split B = U·Σ, A = Vᵀ, over the signed values of both factors.
    const m = svd.U.rows;
    const n = svd.Vt.cols;
    const k = t.rank;
    B = zeros(m, k);
    A = zeros(k, n);
    for (let j = 0; j < k; j++) {
      for (let i = 0; i < m; i++) B.data[i * k + j] = svd.U.data[i * svd.U.cols + j]! * svd.S[j]!;
      A.data.set(svd.Vt.data.subarray(j * n, (j + 1) * n), j * n);
    }
    const all = new Float64Array(B.data.length + A.data.length);
    all.set(B.data);
    all.set(A.data, B.data.length);
    clampBound = quantileLinear(all, clamp);
    clampSymmetric(B.data, clampBound);
    clampSymmetric(A.data, clampBound);
    releaseOutput(t.B.data, t.A.data);
  }
  // U and Vt are read for the last time above (details keep only S).
  releaseOutput(svd.U.data, svd.Vt.data);
  return {
    B,
    A,
    details: {
      singularValues: Array.from(svd.S.slice(0, Math.min(svd.S.length, 64))),
      keptEnergyFraction: t.keptEnergy,
      discardedEnergyFraction: t.discardedEnergy,
      discardedEnergy: discarded,
      ...(clampBound === null ? {} : { clampBound }),
    },
  };
}

export const catMethod: MergeMethodDescriptor = {
  name: 'cat',
  title: 'Concatenation (exact weighted sum)',
  summary: 'Stacks the scaled factors: B = [w₁s₁B₁ … ], A = [A₁; …]; the output rank is Σ r_t and ΔW is exactly Σ w_t ΔW_t.',
  paperUrl: 'https://arxiv.org/abs/2409.05976',
  actsOnDelta: true,
  orderFree: true,
  params: {},
  perAdapter: PER_ADAPTER_WEIGHT,
  run: async (ctx) => compress(ctx, (i) => i.weight * i.scale, null, null),
};

export const linearMethod: MergeMethodDescriptor = {
  name: 'linear',
  title: 'Linear (task arithmetic, exact)',
  summary: 'Σ w_t ΔW_t in factored form (= cat); optionally recompressed by an exact SVD to a rank or an energy fraction.',
  paperUrl: 'https://arxiv.org/abs/2212.04089',
  actsOnDelta: true,
  orderFree: true,
  params: {
    rank: { type: 'number', default: null, nullable: true, integer: true, min: 1, description: 'recompress to this rank (unset: keep the exact concatenation)' },
    energy: { type: 'number', default: null, nullable: true, min: 0, max: 1, description: 'recompress to the smallest rank keeping this fraction of Σσ²' },
  },
  perAdapter: PER_ADAPTER_WEIGHT,
  run: async (ctx) => compress(ctx, (i) => i.weight * i.scale, ctx.params.rank as number | null, ctx.params.energy as number | null),
};

export const svdMethod: MergeMethodDescriptor = {
  name: 'svd',
  title: 'SVD (truncated exact sum)',
  summary: 'Exact Σ w_t ΔW_t, truncated to a rank (default: largest input rank) or an energy fraction; no dense m×n matrix.',
  paperUrl: 'https://huggingface.co/docs/peft/developer_guides/model_merging',
  actsOnDelta: true,
  orderFree: true,
  params: {
    rank: { type: 'number', default: null, nullable: true, integer: true, min: 1, description: 'output rank (unset: largest input rank)' },
    energy: { type: 'number', default: null, nullable: true, min: 0, max: 1, description: 'per module, the smallest rank keeping this fraction of Σσ² (capped by rank)' },
    peftCompat: {
      type: 'enum',
      values: ['none', 'legacy-5d602fd'],
      default: 'none',
      description: '"legacy-5d602fd" reproduces PEFT main@5d602fd, which applies the LoRA scale twice (weight w·s²)',
    },
    clamp: {
      type: 'number',
      default: null,
      nullable: true,
      min: 0,
      max: 1,
      description: 'PEFT svd_clamp / kohya: clamp both factors (B = UΣ, A = Vᵀ) to ± this quantile of their signed values (kohya uses 0.99)',
    },
  },
  perAdapter: PER_ADAPTER_WEIGHT,
  run: async (ctx) => {
    const legacy = ctx.params.peftCompat === 'legacy-5d602fd';
    const energy = ctx.params.energy as number | null;
    const rank = ctx.params.rank === null && energy !== null ? null : outputRank(ctx);
    return compress(ctx, (i) => i.weight * i.scale * (legacy ? i.scale : 1), rank, energy, ctx.params.clamp as number | null);
  },
};

// cat, linear (exact, optional recompression) and svd: methods that act on the
// weighted sum Σ w_t s_t B_t A_t, computed in factored form (algorithms.md §3.2, §6.1).
import type { MergeMethodDescriptor, ModuleContext, ModuleResult } from '../method-types.ts';
import { PER_ADAPTER_WEIGHT } from '../method-types.ts';
import { lowRankSvd } from '../../linalg/low-rank-svd.ts';
import { truncateSvd } from '../../linalg/truncate.ts';
import { zeros } from '../../tensor/matrix.ts';
import { clampSymmetric, quantileLinear } from '../kernels/quantile.ts';
import { outputRank, weightedConcat } from './shared.ts';
import type { ModuleInput } from '../method-types.ts';
import { outputF64, releaseOutput } from '../kernels/output-pool.ts';

/** Zeroed storage from the output pool (recycled by executeMerge; see kernels/output-pool.ts). */
const pooled = (length: number): Float64Array => outputF64(length, true);

function compress(ctx: ModuleContext, coef: (i: ModuleInput) => number, rank: number | null, energy: number | null, clamp: number | null = null): ModuleResult {
  const recompress = rank !== null || energy !== null;
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

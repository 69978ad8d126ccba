// TIES, DARE (linear / ties) and magnitude pruning on the deltas ΔW_t, module by
// module, with PEFT merge_utils per-tensor semantics (algorithms.md §3.3), then
// re-factored to the output rank by a seeded randomized SVD. One kernel; the
// methods are rows that configure it (variants are data).
import type { MergeMethodDescriptor, ModuleContext, ModuleInput, ModuleResult } from '../method-types.ts';
import { PER_ADAPTER_WEIGHT } from '../method-types.ts';
import type { ParamSchema } from '../param-schema.ts';
import { applyMagnitudeCut, combineTasks, magnitudeCut, pruneRandom, type MagnitudeCut, type Sparsification, type TaskArithmeticConfig } from '../kernels/task-arithmetic.ts';
import { randomizedSvd } from '../../linalg/randomized-svd.ts';
import { rowMajorOperator } from '../kernels/row-major-operator.ts';
import { truncateSvd } from '../../linalg/truncate.ts';
import { createRng } from '../../util/rng.ts';
import { canonicalOrder, deriveSeed, outputRank } from './shared.ts';

interface FamilyRow {
  readonly name: string;
  readonly title: string;
  readonly summary: string;
  readonly paperUrl: string;
  readonly sparsification: Sparsification;
  readonly rescale: boolean;
  readonly consensus: boolean;
  readonly defaultDensity: number;
}

const COMMON_PARAMS: ParamSchema = {
  rank: { type: 'number', default: null, nullable: true, integer: true, min: 1, description: 'output rank of the re-factored delta (unset: largest input rank)' },
  oversample: { type: 'number', default: 10, integer: true, min: 0, description: 'randomized SVD oversampling' },
  powerIterations: { type: 'number', default: 2, integer: true, min: 0, max: 20, description: 'randomized SVD power iterations' },
};

/**
 * Rows [r0, r1) of s·B·A into `out` (length (r1−r0)·n). Each entry is summed over k in a register
 * (in increasing k, as an axpy loop would), so `out` is written once instead of r times.
 */
function deltaRows(input: ModuleInput, r0: number, r1: number, out: Float64Array): void {
  const { B, A, scale } = input;
  const r = B.cols;
  const n = A.cols;
  const a = A.data;
  const b = new Float64Array(r);
  for (let i = r0; i < r1; i++) {
    const row = (i - r0) * n;
    for (let k = 0; k < r; k++) b[k] = B.data[i * r + k]! * scale;
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < r; k++) s += b[k]! * a[k * n + j]!;
      out[row + j] = s;
    }
  }
}

/** Rows per block: about ROW_BLOCK_ELEMENTS values of each task at a time. */
const ROW_BLOCK_ELEMENTS = 1 << 20;

/**
 * Streams the module in row blocks: per task only one block of s_t·B_t·A_t exists at a time.
 * Magnitude trimming needs each task's global per-tensor cut first: one |τ_t| scratch of m·n
 * values, reused task after task. The merged M (m×n) is then re-factored by randomized SVD.
 */
export async function runTaskArithmetic(ctx: ModuleContext, config: TaskArithmeticConfig): Promise<ModuleResult> {
  const m = ctx.outFeatures;
  const n = ctx.inFeatures;
  const inputs = canonicalOrder(ctx.inputs);
  // tiesOfficial replaces a zero elected sign by the majority over the whole tensor: one block.
  const blockRows = config.consensus !== 'none' && config.zeroSign === 'tiesOfficial' ? m : Math.max(1, Math.floor(ROW_BLOCK_ELEMENTS / Math.max(1, n)));
  const cuts: MagnitudeCut[] = [];
  if (config.sparsification === 'magnitude' && config.density < 1) {
    const scratch = new Float64Array(m * n);
    for (const input of inputs) {
      for (let r0 = 0; r0 < m; r0 += blockRows) {
        const r1 = Math.min(m, r0 + blockRows);
        const view = scratch.subarray(r0 * n, r1 * n);
        deltaRows(input, r0, r1, view);
        for (let i = 0; i < view.length; i++) view[i] = Math.abs(view[i]!);
      }
      cuts.push(magnitudeCut(scratch, config.density));
    }
  }
  const tieStates = cuts.map((c) => ({ tiesLeft: c.tiesToKeep }));
  const rngs = inputs.map((_, position) => createRng(deriveSeed(ctx.seed, `task${position}`)));
  const weights = inputs.map((i) => i.weight);
  const merged = new Float64Array(m * n);
  const blocks = inputs.map(() => new Float64Array(blockRows * n));
  for (let r0 = 0; r0 < m; r0 += blockRows) {
    const r1 = Math.min(m, r0 + blockRows);
    const len = (r1 - r0) * n;
    const views = blocks.map((b) => b.subarray(0, len));
    inputs.forEach((input, t) => {
      const v = views[t]!;
      deltaRows(input, r0, r1, v);
      if (config.sparsification === 'magnitude' && cuts[t]) applyMagnitudeCut(v, cuts[t]!, tieStates[t]!);
      if (config.sparsification === 'random') pruneRandom(v, config.density, config.rescale, rngs[t]!);
    });
    combineTasks(views, weights, config, merged.subarray(r0 * n, r1 * n));
  }
  let total = 0;
  for (let i = 0; i < merged.length; i++) total += merged[i]! * merged[i]!;
  const rank = Math.min(outputRank(ctx), m, n);
  if (total === 0) return { B: { rows: m, cols: 0, data: new Float64Array(0) }, A: { rows: 0, cols: n, data: new Float64Array(0) }, details: { denseMergedNorm: 0 } };
  const svd = await randomizedSvd(rowMajorOperator({ rows: m, cols: n, data: merged }), {
    rank,
    oversample: ctx.params.oversample as number,
    powerIterations: ctx.params.powerIterations as number,
    seed: deriveSeed(ctx.seed, 'rsvd'),
  });
  const t = truncateSvd(svd, { rank });
  let kept = 0;
  for (let j = 0; j < t.rank; j++) kept += svd.S[j]! * svd.S[j]!;
  const refactorError = Math.sqrt(Math.max(0, total - kept) / total);
  return { B: t.B, A: t.A, details: { denseMergedNorm: Math.sqrt(total), refactorRelativeError: refactorError } };
}

function row(spec: FamilyRow): MergeMethodDescriptor {
  const params: Record<string, ParamSchema[string]> = {
    density: { type: 'number', default: spec.defaultDensity, min: 0, max: 1, description: 'fraction of entries of each ΔW_t kept (PEFT density = 1 − DARE drop rate)' },
  };
  if (spec.consensus) {
    params.majoritySign = { type: 'enum', values: ['total', 'frequency'], default: 'total', description: 'sign election: sum of values or sum of signs' };
    params.zeroSign = { type: 'enum', values: ['plus', 'tiesOfficial'], default: 'plus', description: 'an elected sign of 0: PEFT maps it to +1; the TIES code keeps negatives' };
  }
  return {
    name: spec.name,
    title: spec.title,
    summary: spec.summary,
    paperUrl: spec.paperUrl,
    actsOnDelta: true,
    orderFree: true,
    params: { ...params, ...COMMON_PARAMS },
    perAdapter: PER_ADAPTER_WEIGHT,
    run: async (ctx) =>
      runTaskArithmetic(ctx, {
        sparsification: spec.sparsification,
        density: ctx.params.density as number,
        rescale: spec.rescale,
        consensus: spec.consensus ? (ctx.params.majoritySign as 'total' | 'frequency') : 'none',
        zeroSign: spec.consensus ? (ctx.params.zeroSign as 'plus' | 'tiesOfficial') : 'plus',
      }),
  };
}

export const TASK_ARITHMETIC_ROWS = [
  row({
    name: 'ties',
    title: 'TIES (trim, elect sign, disjoint mean) on ΔW',
    summary: 'Per module: keep the ⌊density·mn⌋ largest |ΔW_t| entries, elect a sign, average the agreeing weighted entries; re-factored by randomized SVD.',
    paperUrl: 'https://arxiv.org/abs/2306.01708',
    sparsification: 'magnitude',
    rescale: false,
    consensus: true,
    defaultDensity: 0.2,
  }),
  row({
    name: 'dare_linear',
    title: 'DARE + weighted sum on ΔW',
    summary: 'Drops entries of each ΔW_t at random (seeded), rescales by 1/density, sums with weights; re-factored by randomized SVD.',
    paperUrl: 'https://arxiv.org/abs/2311.03099',
    sparsification: 'random',
    rescale: true,
    consensus: false,
    defaultDensity: 0.5,
  }),
  row({
    name: 'dare_ties',
    title: 'DARE + TIES sign consensus on ΔW',
    summary: 'Random drop with rescale, then TIES sign election and disjoint mean; re-factored by randomized SVD.',
    paperUrl: 'https://arxiv.org/abs/2311.03099',
    sparsification: 'random',
    rescale: true,
    consensus: true,
    defaultDensity: 0.5,
  }),
  row({
    name: 'magnitude_prune',
    title: 'Magnitude prune + weighted sum on ΔW',
    summary: 'Keeps the ⌊density·mn⌋ largest |ΔW_t| entries of each delta and sums with weights; re-factored by randomized SVD.',
    paperUrl: 'https://huggingface.co/docs/peft/developer_guides/model_merging',
    sparsification: 'magnitude',
    rescale: false,
    consensus: false,
    defaultDensity: 0.5,
  }),
] as const;

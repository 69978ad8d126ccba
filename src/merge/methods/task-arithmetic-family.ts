// TIES, DARE (linear / ties) and magnitude pruning on the deltas ΔW_t, module by
// module, with PEFT merge_utils per-tensor semantics (algorithms.md §3.3), then
// re-factored to the output rank by a seeded randomized SVD. One kernel; the
// methods are rows that configure it (variants are data).
import type { MergeMethodDescriptor, ModuleContext, ModuleInput, ModuleResult } from '../method-types.ts';
import { PER_ADAPTER_WEIGHT } from '../method-types.ts';
import type { ParamSchema } from '../param-schema.ts';
import { applyMagnitudeCut, combineTasks, magnitudeCutStreaming, pruneRandom, type MagnitudeCut, type Sparsification, type TaskArithmeticConfig } from '../kernels/task-arithmetic.ts';
import { randomizedSvd } from '../../linalg/randomized-svd.ts';
import { rowBlockOperator, rowMajorOperator, type RowBlockReplay } from '../kernels/row-major-operator.ts';
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

/** Aᵀ (n×r, row-major) per input, so that each entry of B·A is a dot product of two contiguous runs. */
const transposedA = new WeakMap<ModuleInput, Float64Array>();

function aTransposed(input: ModuleInput): Float64Array {
  let at = transposedA.get(input);
  if (!at) {
    const { rows: r, cols: n, data } = input.A;
    at = new Float64Array(r * n);
    for (let k = 0; k < r; k++) for (let j = 0; j < n; j++) at[j * r + k] = data[k * n + j]!;
    transposedA.set(input, at);
  }
  return at;
}

/**
 * Rows [r0, r1) of s·B·A into `out` (length (r1−r0)·n). Each entry is a dot product of the scaled
 * B row with a contiguous row of Aᵀ, summed in increasing k (the order of an axpy loop), so `out`
 * is written once instead of r times.
 */
function deltaRows(input: ModuleInput, r0: number, r1: number, out: Float64Array): void {
  const { B, scale } = input;
  const r = B.cols;
  const n = input.A.cols;
  const at = aTransposed(input);
  const b = new Float64Array(r);
  const r4 = r - (r % 4);
  for (let i = r0; i < r1; i++) {
    const row = (i - r0) * n;
    for (let k = 0; k < r; k++) b[k] = B.data[i * r + k]! * scale;
    for (let j = 0; j < n; j++) {
      const o = j * r;
      let s = 0;
      let k = 0;
      for (; k < r4; k += 4) s = s + b[k]! * at[o + k]! + b[k + 1]! * at[o + k + 1]! + b[k + 2]! * at[o + k + 2]! + b[k + 3]! * at[o + k + 3]!;
      for (; k < r; k++) s += b[k]! * at[o + k]!;
      out[row + j] = s;
    }
  }
}

/**
 * Merged deltas up to this many entries (64 MB in f64) are held for the randomized SVD; larger ones
 * are recomputed block by block for every product (each replay costs T·m·n·r multiply-adds), so the
 * merge never holds an m×n array of a large module.
 */
export const DENSE_MERGED_LIMIT_ELEMENTS = 1 << 23;

/** Rows per block: about ROW_BLOCK_ELEMENTS values of each task at a time. */
const ROW_BLOCK_ELEMENTS = 1 << 20;

/**
 * Streams the module in row blocks: per task only one block of s_t·B_t·A_t exists at a time.
 * Magnitude trimming needs each task's global per-tensor cut first: found exactly from two
 * streamed passes over the task's row blocks (histogram of the float bit patterns, then a
 * selection inside one bin), so no m×n scratch exists. The merged M is then re-factored by
 * randomized SVD: held (m×n f64) when small, otherwise replayed block by block per product.
 */
export async function runTaskArithmetic(ctx: ModuleContext, config: TaskArithmeticConfig, options: { denseLimitElements?: number; blockElements?: number } = {}): Promise<ModuleResult> {
  const m = ctx.outFeatures;
  const n = ctx.inFeatures;
  const inputs = canonicalOrder(ctx.inputs);
  // tiesOfficial replaces a zero elected sign by the majority over the whole tensor: one block.
  const blockElements = options.blockElements ?? ROW_BLOCK_ELEMENTS;
  const blockRows = config.consensus !== 'none' && config.zeroSign === 'tiesOfficial' ? m : Math.max(1, Math.floor(blockElements / Math.max(1, n)));
  const cuts: MagnitudeCut[] = [];
  if (config.sparsification === 'magnitude' && config.density < 1) {
    // Each task's per-tensor cut from two streamed passes over its row blocks (no m×n scratch).
    const cutRows = Math.max(1, Math.floor(blockElements / Math.max(1, n)));
    const scratch = new Float64Array(Math.min(m, cutRows) * n);
    for (const input of inputs) {
      cuts.push(
        magnitudeCutStreaming(m * n, config.density, (sink) => {
          for (let r0 = 0; r0 < m; r0 += cutRows) {
            const r1 = Math.min(m, r0 + cutRows);
            const view = scratch.subarray(0, (r1 - r0) * n);
            deltaRows(input, r0, r1, view);
            for (let i = 0; i < view.length; i++) view[i] = Math.abs(view[i]!);
            sink(view);
          }
        }),
      );
    }
  }
  const weights = inputs.map((i) => i.weight);
  const blocks = inputs.map(() => new Float64Array(Math.min(m, blockRows) * n));
  const mergedBlock = new Float64Array(Math.min(m, blockRows) * n);
  // One replay of the merged delta, block by block: cut tie counters and DARE streams restart, so
  // every replay yields the same values.
  const replay: RowBlockReplay = (visit) => {
    const tieStates = cuts.map((c) => ({ tiesLeft: c.tiesToKeep }));
    const rngs = inputs.map((_, position) => createRng(deriveSeed(ctx.seed, `task${position}`)));
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
      const out = mergedBlock.subarray(0, len);
      combineTasks(views, weights, config, out);
      visit(r0, r1, out);
    }
  };
  // Small modules (and the whole-tensor tiesOfficial rule) hold M; large ones recompute it per product.
  const hold = m * n <= (options.denseLimitElements ?? DENSE_MERGED_LIMIT_ELEMENTS) || blockRows >= m;
  let total = 0;
  let op;
  if (hold) {
    const merged = new Float64Array(m * n);
    replay((r0, _r1, block) => merged.set(block, r0 * n));
    for (let i = 0; i < merged.length; i++) total += merged[i]! * merged[i]!;
    op = rowMajorOperator({ rows: m, cols: n, data: merged });
  } else {
    replay((_r0, _r1, block) => {
      for (let i = 0; i < block.length; i++) total += block[i]! * block[i]!;
    });
    op = rowBlockOperator(m, n, replay);
  }
  const rank = Math.min(outputRank(ctx), m, n);
  if (total === 0) return { B: { rows: m, cols: 0, data: new Float64Array(0) }, A: { rows: 0, cols: n, data: new Float64Array(0) }, details: { denseMergedNorm: 0 } };
  const svd = await randomizedSvd(op, {
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

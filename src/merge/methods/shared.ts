// Helpers shared by the method rows: the exact weighted sum in factored form,
// rank resolution, equal-rank checks.
import { WorkbenchError } from '../../errors.ts';
import type { Mat } from '../../tensor/matrix.ts';
import { zeros } from '../../tensor/matrix.ts';
import type { ModuleContext, ModuleInput } from '../method-types.ts';
import { factoredNorm } from '../kernels/factored-norms.ts';
import { scratchF64 } from '../../util/scratch.ts';
import { outputF64 } from '../kernels/output-pool.ts';

/** Σ_t w_t s_t B_t A_t as B = [w_1 s_1 B_1 … w_T s_T B_T], A = [A_1; …; A_T] (exact, rank Σ r_t). */
export function weightedConcat(
  inputs: readonly ModuleInput[],
  m: number,
  n: number,
  coef: (input: ModuleInput) => number = (i) => i.weight * i.scale,
  /** Build into reused work buffers (valid until the next such call): for a temporary sum only. */
  temporary = false,
): { B: Mat; A: Mat } {
  const total = inputs.reduce((s, i) => s + i.rank, 0);
  // Every entry of B and A is written below, so reused buffers need no clearing.
  // A kept sum comes from the output pool (recycled by executeMerge once encoded).
  const B = { rows: m, cols: total, data: temporary ? scratchF64('concat.B', m * total) : outputF64(m * total) };
  const A = { rows: total, cols: n, data: temporary ? scratchF64('concat.A', total * n) : outputF64(total * n) };
  let offset = 0;
  for (const input of inputs) {
    const c = coef(input);
    const r = input.rank;
    const src = input.B.data;
    const dst = B.data;
    for (let row = 0; row < m; row++) {
      const d = row * total + offset;
      const s = row * r;
      for (let j = 0; j < r; j++) dst[d + j] = c * src[s + j]!;
    }
    A.data.set(input.A.data.subarray(0, r * n), offset * n);
    offset += r;
  }
  return { B, A };
}

/** The requested output rank, or the largest input rank. */
export function outputRank(ctx: ModuleContext, key = 'rank'): number {
  const given = ctx.params[key];
  if (typeof given === 'number') return given;
  return Math.max(1, ...ctx.inputs.map((i) => i.rank));
}

export function requireEqualRanks(ctx: ModuleContext, method: string): number {
  const ranks = [...new Set(ctx.inputs.map((i) => i.rank))];
  if (ranks.length > 1) {
    throw new WorkbenchError(
      'MERGE_SHAPE_MISMATCH',
      `module ${ctx.module}: method "${method}" combines factors element-wise and needs equal ranks, got ${ctx.inputs.map((i) => `${i.name}=${i.rank}`).join(', ')}`,
      { details: { module: ctx.module, method, ranks: ctx.inputs.map((i) => ({ input: i.name, rank: i.rank })) } },
    );
  }
  return ranks[0] ?? 0;
}

export function scaleMat(x: Mat, f: number): Mat {
  const out = zeros(x.rows, x.cols);
  for (let i = 0; i < x.data.length; i++) out.data[i] = x.data[i]! * f;
  return out;
}

export function addScaledInto(target: Mat, x: Mat, f: number): void {
  for (let i = 0; i < x.data.length; i++) target.data[i]! += x.data[i]! * f;
}

/**
 * Sorts inputs by a gauge-free key, ‖w·s·B·A‖_F (12 significant digits), then by content
 * hash, so that seeded steps depend neither on input order nor on the factor gauge.
 */
export function canonicalOrder(inputs: readonly ModuleInput[]): ModuleInput[] {
  const keyed = inputs.map((input) => ({ input, norm: Number(factoredNorm([{ B: input.B, A: input.A, coef: input.weight * input.scale }]).toPrecision(12)) }));
  keyed.sort((a, b) => a.norm - b.norm || (a.input.contentHash < b.input.contentHash ? -1 : a.input.contentHash > b.input.contentHash ? 1 : a.input.index - b.input.index));
  return keyed.map((k) => k.input);
}

/** A 32-bit seed from a base seed and a string (FNV-1a), for per-module and per-input streams. */
export function deriveSeed(seed: number, label: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

// Minimal Semantic Units (algorithms.md §1.1): the rank-one pieces b_i a_iᵀ of a
// LoRA module, pooled across adapters with stable ids.
import type { Mat } from '../tensor/matrix.ts';

export const MSU_FEATURES = ['raw', 'normalizedParts', 'canonical'] as const;
/** How units are represented: raw √s-folded factors, nsc-style normalised parts, or the canonical gauge. */
export type MsuFeature = (typeof MSU_FEATURES)[number];

/** Where a unit came from: adapter index and name, module, rank index in that adapter. */
export interface MsuId {
  readonly adapterIndex: number;
  readonly adapterName: string;
  readonly module: string;
  readonly rankIndex: number;
}

/**
 * A pool of P units of one module: column j of B (m×P) is b_j, row j of A (P×n) is a_j, and
 * Σ_j b_j a_jᵀ equals the (weighted, scaled) sum of the deltas that went in.
 */
export interface MsuPool {
  readonly module: string;
  readonly feature: MsuFeature;
  readonly ids: readonly MsuId[];
  readonly B: Mat;
  readonly A: Mat;
}

export function msuIdString(id: MsuId): string {
  return `${id.adapterIndex}:${id.adapterName}:${id.module}:${id.rankIndex}`;
}

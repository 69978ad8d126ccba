// No-base diagnostics of one adapter module (algorithms.md §2.2, §6.1): the exact
// singular values of ΔW = s·B·A from the factors, effective rank (Roy & Vetterli:
// exp of the entropy of σ/Σσ), stable rank ‖ΔW‖²_F/σ₁², the energy curve and the
// ranks that keep 90/95/99 % of ‖ΔW‖²_F, and the norms of the rank-one units.
import type { Mat } from '../tensor/matrix.ts';
import { factoredSvd, type FactoredSvd } from './factored-svd.ts';

export const ENERGY_LEVELS = [0.9, 0.95, 0.99] as const;
/** The energy level whose rank is suggested as the resize target. */
export const SUGGESTED_ENERGY = 0.99;

export interface ModuleSpectrum {
  readonly singularValues: number[];
  readonly effectiveRank: number;
  readonly stableRank: number;
  readonly frobeniusNorm: number;
  /** energy[i] = Σ_{j≤i} σ_j² / Σ σ². */
  readonly energy: number[];
  readonly rankForEnergy: Readonly<Record<string, number>>;
  readonly suggestedRank: number;
  /** ‖s·b_i‖·‖a_i‖ for each stored rank-one unit (gauge-dependent split, gauge-free product). */
  readonly unitNorms: number[];
}

/** exp(−Σ p_i log p_i) with p_i = σ_i / Σ σ_j; 0 for a zero matrix. */
export function effectiveRank(sigma: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < sigma.length; i++) total += Math.abs(sigma[i]!);
  if (total === 0) return 0;
  let entropy = 0;
  for (let i = 0; i < sigma.length; i++) {
    const p = Math.abs(sigma[i]!) / total;
    if (p > 0) entropy -= p * Math.log(p);
  }
  return Math.exp(entropy);
}

/** Smallest r with Σ_{j<r} σ_j² ≥ level · Σ σ². */
export function rankForEnergy(sigma: ArrayLike<number>, level: number): number {
  let total = 0;
  for (let i = 0; i < sigma.length; i++) total += sigma[i]! * sigma[i]!;
  if (total === 0) return 0;
  let acc = 0;
  for (let i = 0; i < sigma.length; i++) {
    acc += sigma[i]! * sigma[i]!;
    if (acc >= level * total * (1 - 1e-12)) return i + 1;
  }
  return sigma.length;
}

export function moduleSpectrum(B: Mat, A: Mat, scale: number, svd: FactoredSvd = factoredSvd(B, A, scale)): ModuleSpectrum {
  const sigma = Array.from(svd.s);
  const total = sigma.reduce((acc, s) => acc + s * s, 0);
  let acc = 0;
  const energy = sigma.map((s) => {
    acc += s * s;
    return total > 0 ? acc / total : 0;
  });
  const rankFor: Record<string, number> = {};
  for (const level of ENERGY_LEVELS) rankFor[String(level)] = rankForEnergy(sigma, level);
  const unitNorms: number[] = [];
  for (let i = 0; i < B.cols; i++) {
    let nb = 0;
    for (let row = 0; row < B.rows; row++) nb += B.data[row * B.cols + i]! ** 2;
    let na = 0;
    for (let col = 0; col < A.cols; col++) na += A.data[i * A.cols + col]! ** 2;
    unitNorms.push(Math.abs(scale) * Math.sqrt(nb * na));
  }
  const sigma1 = sigma[0] ?? 0;
  return {
    singularValues: sigma,
    effectiveRank: effectiveRank(sigma),
    stableRank: sigma1 > 0 ? total / (sigma1 * sigma1) : 0,
    frobeniusNorm: Math.sqrt(total),
    energy,
    rankForEnergy: rankFor,
    suggestedRank: rankForEnergy(sigma, SUGGESTED_ENERGY),
    unitNorms,
  };
}

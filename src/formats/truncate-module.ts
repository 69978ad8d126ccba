// Cuts any module's LoRA form (a converted LoKr, LoHa of rank r1·r2, RandLoRA of rank n·r…) to a rank or
// energy threshold: exact SVD of scale·B·A from its factors (algorithms.md §6.1, no m×n matrix), then
// truncation, with the relative Frobenius error √(discarded energy) recorded in module.family.
import { lowRankSvd } from '../linalg/low-rank-svd.ts';
import { truncateSvd, type TruncateOptions } from '../linalg/truncate.ts';
import type { LoraModule, ModuleFactors } from '../adapter/types.ts';

export interface TruncatedModule {
  readonly module: LoraModule;
  /** ‖ΔW − B′A′‖_F / ‖ΔW‖_F. */
  readonly relativeError: number;
}

/**
 * Loads the module once, truncates, and returns a module whose factors are the truncated pair with the
 * scale folded in (scale 1, alpha = rank). DoRA modules are refused by the caller's choice: the magnitude
 * is carried unchanged.
 */
export async function truncateModule(module: LoraModule, options: TruncateOptions): Promise<TruncatedModule> {
  const f = await module.load();
  const svd = lowRankSvd([{ B: f.B, A: f.A, weight: module.scale }]);
  const t = truncateSvd(svd, options);
  const relativeError = Math.sqrt(Math.max(t.discardedEnergy, 0));
  const factors: ModuleFactors = f.doraMagnitude ? { A: t.A, B: t.B, doraMagnitude: f.doraMagnitude } : { A: t.A, B: t.B };
  const family = module.family ?? { name: 'lora', params: {}, conversion: 'exact' as const };
  const truncated: LoraModule = {
    ...module,
    rank: t.rank,
    alpha: t.rank,
    scale: 1,
    family: { ...family, params: { ...family.params, originalRank: module.rank }, conversion: relativeError > 0 ? 'truncated' : family.conversion, relativeError },
    load: async () => factors,
  };
  return { module: truncated, relativeError };
}

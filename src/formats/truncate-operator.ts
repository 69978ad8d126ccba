// Conversion of a structured delta that has no exact low-rank form: a randomized SVD of the delta seen
// as a LinearOperator (never densified), truncated to a rank or energy threshold. The error is
// reported against ‖ΔW‖_F computed exactly from the structure by the caller:
// relErr = √(‖ΔW‖² − Σ_kept σ²) / ‖ΔW‖ (the best rank-k error, up to the sketch's accuracy).
import { WorkbenchError } from '../errors.ts';
import type { LinearOperator } from '../linalg/operator.ts';
import { randomizedSvd } from '../linalg/randomized-svd.ts';
import { truncateSvd } from '../linalg/truncate.ts';
import type { Mat } from '../tensor/matrix.ts';

export interface OperatorTruncateOptions {
  readonly rank?: number;
  readonly energy?: number;
  readonly seed?: number;
  readonly powerIterations?: number;
  readonly signal?: AbortSignal;
}

export interface OperatorTruncation {
  readonly B: Mat;
  readonly A: Mat;
  readonly rank: number;
  readonly relativeError: number;
  readonly seed: number;
}

export const DEFAULT_CONVERSION_SEED = 42;

export async function truncateOperator(op: LinearOperator, norm: number, options: OperatorTruncateOptions): Promise<OperatorTruncation> {
  const cap = Math.min(op.rows, op.cols);
  if (options.rank === undefined && options.energy === undefined) {
    throw new WorkbenchError('INVALID_ARGUMENT', 'converting a structured delta needs a target rank or an energy threshold', { details: {} });
  }
  const seed = options.seed ?? DEFAULT_CONVERSION_SEED;
  const sketchRank = options.energy !== undefined ? cap : Math.min(options.rank!, cap);
  const svd = await randomizedSvd(op, {
    rank: sketchRank,
    seed,
    powerIterations: options.powerIterations ?? 4,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  // truncateSvd compares energy against the sketch's total; use ‖ΔW‖² instead when an energy is asked for.
  let rank = options.rank ?? sketchRank;
  if (options.energy !== undefined) {
    let acc = 0;
    let k = svd.S.length;
    for (let j = 0; j < svd.S.length; j++) {
      acc += svd.S[j]! ** 2;
      if (acc >= options.energy * norm * norm * (1 - 1e-12)) {
        k = j + 1;
        break;
      }
    }
    rank = Math.min(rank, k);
  }
  const t = truncateSvd(svd, { rank });
  let kept = 0;
  for (let j = 0; j < t.rank; j++) kept += svd.S[j]! ** 2;
  const relativeError = norm > 0 ? Math.sqrt(Math.max(norm * norm - kept, 0)) / norm : 0;
  return { B: t.B, A: t.A, rank: t.rank, relativeError, seed };
}

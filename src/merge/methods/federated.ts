// Federated aggregation of LoRA clients (algorithms.md §4.7). Weights are
// normalised to p_k = w_k / Σ w (FedAvg convention); the report's exact target is
// Σ p_k ΔW_k. Scales: each client's √s is folded into both of its factors.
import { WorkbenchError } from '../../errors.ts';
import type { MergeMethodDescriptor, ModuleContext } from '../method-types.ts';
import { PER_ADAPTER_WEIGHT } from '../method-types.ts';
import { zeros, matmul, type Mat } from '../../tensor/matrix.ts';
import { factoredDistance, factoredNorm } from '../kernels/factored-norms.ts';
import { matMulT, solveRight } from '../kernels/small-linalg.ts';
import { addScaledInto, requireEqualRanks } from './shared.ts';

function normalisedWeights(ctx: ModuleContext, method: string): number[] {
  const total = ctx.inputs.reduce((s, i) => s + i.weight, 0);
  if (!(total > 0)) {
    throw new WorkbenchError('MERGE_PARAM_INVALID', `module ${ctx.module}: method "${method}" needs client weights with a positive sum, got ${total}`, {
      details: { module: ctx.module, method, weights: ctx.inputs.map((i) => i.weight) },
    });
  }
  return ctx.inputs.map((i) => i.weight / total);
}

function averages(ctx: ModuleContext, method: string): { Bbar: Mat; Abar: Mat; p: number[]; r: number } {
  const r = requireEqualRanks(ctx, method);
  const p = normalisedWeights(ctx, method);
  const Bbar = zeros(ctx.outFeatures, r);
  const Abar = zeros(r, ctx.inFeatures);
  ctx.inputs.forEach((input, k) => {
    const root = Math.sqrt(input.scale);
    addScaledInto(Bbar, input.B, p[k]! * root);
    addScaledInto(Abar, input.A, p[k]! * root);
  });
  return { Bbar, Abar, p, r };
}

function exactTerms(ctx: ModuleContext, p: readonly number[]) {
  return ctx.inputs.map((input, k) => ({ B: input.B, A: input.A, coef: p[k]! * input.scale }));
}

export const fedavgMethod: MergeMethodDescriptor = {
  name: 'fedavg',
  title: 'FedAvg on factors (FedIT)',
  summary: 'Averages A and B separately with normalised client weights; reports the aggregation bias ‖B̄Ā − Σ p_k B_k A_k‖ per module.',
  paperUrl: 'https://arxiv.org/abs/2310.03150',
  actsOnDelta: false,
  orderFree: true,
  normalizesWeights: true,
  params: {},
  perAdapter: PER_ADAPTER_WEIGHT,
  run: async (ctx) => {
    const { Bbar, Abar, p } = averages(ctx, 'fedavg');
    const exact = exactTerms(ctx, p);
    const bias = factoredDistance([{ B: Bbar, A: Abar, coef: 1 }], exact);
    const exactNorm = factoredNorm(exact);
    return { B: Bbar, A: Abar, details: { aggregationBias: bias, relativeAggregationBias: exactNorm > 0 ? bias / exactNorm : 0, clientWeights: p } };
  },
};

export const ffaMethod: MergeMethodDescriptor = {
  name: 'ffa',
  title: 'FFA-LoRA (shared frozen A, average B)',
  summary: 'Keeps the shared A and averages the scaled B; exact when every client has the same A (checked and reported).',
  paperUrl: 'https://arxiv.org/abs/2403.12313',
  actsOnDelta: false,
  orderFree: true,
  normalizesWeights: true,
  params: {
    tolerance: { type: 'number', default: 1e-6, min: 0, description: 'largest relative ‖A_k − A_1‖ still counted as "the same A"' },
  },
  perAdapter: PER_ADAPTER_WEIGHT,
  run: async (ctx) => {
    const r = requireEqualRanks(ctx, 'ffa');
    const p = normalisedWeights(ctx, 'ffa');
    const first = ctx.inputs[0]!;
    const ref = first.A;
    let refNorm = 0;
    for (const v of ref.data) refNorm += v * v;
    refNorm = Math.sqrt(refNorm);
    let mismatch = 0;
    for (const input of ctx.inputs) {
      let s = 0;
      for (let i = 0; i < ref.data.length; i++) s += (input.A.data[i]! - ref.data[i]!) ** 2;
      mismatch = Math.max(mismatch, refNorm > 0 ? Math.sqrt(s) / refNorm : Math.sqrt(s));
    }
    const sharedA = mismatch <= (ctx.params.tolerance as number);
    const B = zeros(ctx.outFeatures, r);
    ctx.inputs.forEach((input, k) => addScaledInto(B, input.B, p[k]! * input.scale));
    const bias = factoredDistance([{ B, A: ref, coef: 1 }], exactTerms(ctx, p));
    return {
      B,
      A: ref,
      details: { sharedA, maxRelativeAMismatch: mismatch, aggregationBias: bias, clientWeights: p },
      warnings: sharedA ? [] : [`module ${ctx.module}: clients do not share A (relative mismatch ${mismatch.toExponential(3)}); FFA used the first client's A and is not exact`],
    };
  },
};

export const fairRidgeMethod: MergeMethodDescriptor = {
  name: 'fair_ridge',
  title: 'LoRA-FAIR-ridge (workbench closed form)',
  summary: 'FedAvg factors plus the correction ΔB* = (ΔW Āᵀ − B̄ĀĀᵀ)(ĀĀᵀ + λI)⁻¹ minimising ‖ΔW − (B̄+ΔB)Ā‖² + λ‖ΔB‖²; the project’s own closed form in the spirit of LoRA-FAIR.',
  paperUrl: 'https://arxiv.org/abs/2411.14961',
  actsOnDelta: false,
  orderFree: true,
  normalizesWeights: true,
  params: {
    lambda: { type: 'number', default: 1e-3, min: 0, description: 'ridge penalty λ on ‖ΔB‖²' },
  },
  perAdapter: PER_ADAPTER_WEIGHT,
  run: async (ctx) => {
    const { Bbar, Abar, p, r } = averages(ctx, 'fair_ridge');
    const gram = matMulT(Abar, Abar); // ĀĀᵀ (r×r)
    const lambda = ctx.params.lambda as number;
    // ΔW Āᵀ = Σ p_k s_k B_k (A_k Āᵀ), in factored form.
    const target = zeros(ctx.outFeatures, r);
    ctx.inputs.forEach((input, k) => addScaledInto(target, matmul(input.B, matMulT(input.A, Abar)), p[k]! * input.scale));
    addScaledInto(target, matmul(Bbar, gram), -1);
    const reg = zeros(r, r);
    reg.data.set(gram.data);
    for (let i = 0; i < r; i++) reg.data[i * r + i]! += lambda;
    const deltaB = solveRight(target, reg);
    const B = zeros(ctx.outFeatures, r);
    B.data.set(Bbar.data);
    addScaledInto(B, deltaB, 1);
    const exact = exactTerms(ctx, p);
    const before = factoredDistance([{ B: Bbar, A: Abar, coef: 1 }], exact);
    const after = factoredDistance([{ B, A: Abar, coef: 1 }], exact);
    return { B, A: Abar, details: { fedavgBias: before, correctedBias: after, lambda, clientWeights: p } };
  },
};

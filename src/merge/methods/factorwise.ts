// PEFT's factor-wise `linear` (algorithms.md §3.2): A' = Σ sign(c)√|c| A_t,
// B' = Σ √|c| B_t with c_t = w_t s_t. Not a function of the ΔW_t: it has cross
// terms B_t A_u (t ≠ u). Offered for parity with PEFT, under a name that says so.
import type { MergeMethodDescriptor } from '../method-types.ts';
import { PER_ADAPTER_WEIGHT } from '../method-types.ts';
import { zeros } from '../../tensor/matrix.ts';
import { addScaledInto, requireEqualRanks } from './shared.ts';

export const linearPeftFactorwiseMethod: MergeMethodDescriptor = {
  name: 'linear_peft_factorwise',
  title: 'PEFT factor-wise linear (approximate, has cross terms)',
  summary: 'Averages A and B separately like PEFT add_weighted_adapter(combination_type="linear"); ΔW gains cross terms B_t A_u.',
  paperUrl: 'https://huggingface.co/docs/peft/developer_guides/model_merging',
  actsOnDelta: false,
  orderFree: true,
  params: {},
  perAdapter: PER_ADAPTER_WEIGHT,
  run: async (ctx) => {
    const r = requireEqualRanks(ctx, 'linear_peft_factorwise');
    const B = zeros(ctx.outFeatures, r);
    const A = zeros(r, ctx.inFeatures);
    for (const input of ctx.inputs) {
      const c = input.weight * input.scale;
      const root = Math.sqrt(Math.abs(c));
      addScaledInto(B, input.B, root);
      addScaledInto(A, input.A, Math.sign(c) * root);
    }
    return { B, A };
  },
};

// The Llama-2-7B module layout of one decoder layer (name, out features m, in features n): the
// workload of issue #4's merge benchmarks.
export const LLAMA_MODULES: readonly (readonly [string, number, number])[] = [
  ['self_attn.q_proj', 4096, 4096],
  ['self_attn.k_proj', 4096, 4096],
  ['self_attn.v_proj', 4096, 4096],
  ['self_attn.o_proj', 4096, 4096],
  ['mlp.gate_proj', 11008, 4096],
  ['mlp.up_proj', 11008, 4096],
  ['mlp.down_proj', 4096, 11008],
];

import { describe, expect, it } from 'vitest';
import { defineComponent, h, nextTick, shallowRef } from 'vue';
import { flushPromises, mount } from '@vue/test-utils';
import { parse } from 'yaml';
import { useMergeForm } from './useMergeForm.ts';
import type { MergeMethodDto } from '../api/types.ts';
import { detail, module } from '../test-support/fixtures.ts';

// Two rows as GET /api/methods sends them (JSON Schema dialect).
const methods: MergeMethodDto[] = [
  {
    name: 'lego',
    title: 'LoRA-LEGO',
    description: 'clusters rank-one units',
    paperUrl: null,
    minInputs: 2,
    maxInputs: null,
    paramsSchema: {
      type: 'object',
      properties: {
        k: { type: ['integer', 'null'], minimum: 1, default: null },
        init: { type: 'string', enum: ['kmeans++', 'firstK'], default: 'kmeans++' },
      },
    },
  },
  { name: 'cat', title: 'Concatenation', description: '', paperUrl: null, minInputs: 1, maxInputs: null, paramsSchema: { type: 'object', properties: {} } },
];
const adapters = {
  A: detail({ id: 'A', name: 'gemma3-logo', modules: [module('model.layers.0.self_attn.q_proj', 4)] }),
  B: detail({ id: 'B', name: 'gemma3-svg-main', modules: [module('model.layers.0.self_attn.q_proj', 4)] }),
};

function withForm() {
  let form!: ReturnType<typeof useMergeForm>;
  const Host = defineComponent({
    setup() {
      form = useMergeForm({ methods: shallowRef(methods), loadAdapter: async (id) => adapters[id as 'A' | 'B'] });
      return () => h('div');
    },
  });
  mount(Host);
  return form;
}

describe('merge form', () => {
  it('starts on lego with the schema defaults and refuses one input', async () => {
    const form = withForm();
    form.setInputs(['A']);
    await flushPromises();
    expect(form.method.value).toBe('lego');
    expect(form.params.value).toEqual({ k: null, init: 'kmeans++' });
    expect(form.problems.value).toContain('LoRA-LEGO needs at least 2 inputs.');
  });

  it('builds the API request: inputs by id with weights, set params only, modules and output', async () => {
    const form = withForm();
    form.setInputs(['A', 'B']);
    await flushPromises();
    form.inputs.value[1]!.weight = -0.5;
    form.params.value = { ...form.params.value, k: 4 };
    form.includeText.value = '*q_proj, *v_proj';
    form.outputRank.value = 4;
    await nextTick();
    expect(form.problems.value).toEqual([]);
    expect(form.request.value).toEqual({
      method: 'lego',
      inputs: [
        { adapter: 'A', weight: 1 },
        { adapter: 'B', weight: -0.5 },
      ],
      params: { k: 4, init: 'kmeans++' },
      modules: { policy: 'union', include: ['*q_proj', '*v_proj'], exclude: [] },
      output: { format: 'peft', dtype: 'F32', rank: 4 },
      seed: 0,
    });
    expect(parse(form.yaml.value)).toEqual(form.request.value);
    expect(form.yaml.value).toContain('# gemma3-svg-main');
    expect(form.estimate.value.moduleCount).toBe(1);
  });

  it('resets params to the new method defaults and reports invalid values', async () => {
    const form = withForm();
    form.setInputs(['A', 'B']);
    await flushPromises();
    form.params.value = { ...form.params.value, k: 0 };
    await nextTick();
    expect(form.problems.value).toContain('k: must be ≥ 1');
    form.method.value = 'cat';
    await nextTick();
    expect(form.params.value).toEqual({});
    expect(form.problems.value).toEqual([]);
    form.inputs.value[0]!.weight = Number.NaN;
    await nextTick();
    expect(form.problems.value).toContain('Every weight must be a number.');
  });
});

import { describe, expect, it } from 'vitest';
import { mount } from '@vue/test-utils';
import ParamForm from '../components/ParamForm.vue';
import { changedValues, defaultValues, humanLabel, schemaFields, validateField } from './schema-fields.ts';

// The lego row of the library's registry, in its own dialect (src/merge/methods/lego.ts).
const legoSchema = {
  k: { type: 'number', default: null, nullable: true, integer: true, min: 1, description: 'number of clusters = output rank' },
  msuFeature: { type: 'enum', values: ['canonical', 'raw', 'normalizedParts'], default: 'canonical', description: 'unit representation' },
  nInit: { type: 'number', default: 1, integer: true, min: 1, max: 100, description: 'k-means restarts' },
  dualReweight: { type: 'boolean', default: true, description: 'reweight' },
};

// The same parameters written as JSON Schema.
const jsonSchema = {
  type: 'object',
  properties: {
    density: { type: 'number', minimum: 0, maximum: 1, default: 0.5, description: 'fraction kept' },
    rank: { type: ['integer', 'null'], minimum: 1, default: null },
    consensus: { type: 'string', enum: ['sum', 'count'], default: 'sum' },
  },
};

describe('parameter form generated from a method schema', () => {
  it('reads the library ParamSchema dialect with kinds, bounds and defaults', () => {
    const fields = schemaFields(legoSchema);
    expect(fields.map((f) => [f.key, f.kind, f.default, f.nullable])).toEqual([
      ['k', 'integer', null, true],
      ['msuFeature', 'enum', 'canonical', false],
      ['nInit', 'integer', 1, false],
      ['dualReweight', 'boolean', true, false],
    ]);
    expect(fields[2]).toMatchObject({ min: 1, max: 100, step: 1, label: 'N init' });
    expect(defaultValues(fields)).toEqual({ k: null, msuFeature: 'canonical', nInit: 1, dualReweight: true });
  });

  it('reads the JSON Schema dialect: type arrays make a field nullable, enum makes a select', () => {
    const fields = schemaFields(jsonSchema);
    expect(fields.map((f) => [f.key, f.kind, f.nullable])).toEqual([
      ['density', 'number', false],
      ['rank', 'integer', true],
      ['consensus', 'enum', false],
    ]);
    expect(fields[0]).toMatchObject({ min: 0, max: 1, step: 0.01, default: 0.5 });
    expect(fields[2]?.values).toEqual(['sum', 'count']);
  });

  it('validates values against bounds, integrality and enums', () => {
    const [k, feature, nInit] = schemaFields(legoSchema);
    expect(validateField(k!, null)).toBeNull();
    expect(validateField(k!, 0)).toBe('must be ≥ 1');
    expect(validateField(k!, 2.5)).toBe('must be a whole number');
    expect(validateField(nInit!, 101)).toBe('must be ≤ 100');
    expect(validateField(nInit!, Number.NaN)).toBe('must be a number');
    expect(validateField(nInit!, null)).toBe('required');
    expect(validateField(feature!, 'bogus')).toMatch(/must be one of canonical, raw, normalizedParts/);
  });

  it('keeps only values changed from their defaults', () => {
    const fields = schemaFields(legoSchema);
    expect(changedValues(fields, { k: 4, msuFeature: 'canonical', nInit: 3, dualReweight: true })).toEqual({ k: 4, nInit: 3 });
  });

  it('labels camelCase and snake_case keys as words', () => {
    expect(humanLabel('outputReweight')).toBe('Output reweight');
    expect(humanLabel('max_iterations')).toBe('Max iterations');
  });

  it('renders one labelled control per field with its default, and emits typed values', async () => {
    const fields = schemaFields(legoSchema);
    const wrapper = mount(ParamForm, { props: { fields, modelValue: defaultValues(fields), errors: { nInit: 'must be ≤ 100' } } });
    const k = wrapper.get('#param-k');
    expect(k.attributes('type')).toBe('number');
    expect(k.attributes('placeholder')).toBe('auto');
    expect(wrapper.get('label[for="param-k"]').text()).toContain('(default auto)');
    expect(wrapper.get('label[for="param-nInit"]').text()).toContain('(default 1)');
    expect(wrapper.findAll('#param-msuFeature option').map((o) => o.text())).toEqual(['canonical', 'raw', 'normalizedParts']);
    expect(wrapper.get('#param-dualReweight').attributes('type')).toBe('checkbox');
    expect(wrapper.get('[data-field="nInit"] [role="alert"]').text()).toContain('must be ≤ 100');

    await k.setValue('6');
    await wrapper.get('#param-msuFeature').setValue('raw');
    await wrapper.get('#param-dualReweight').setValue(false);
    const emitted = wrapper.emitted('update:modelValue') ?? [];
    expect(emitted[0]?.[0]).toMatchObject({ k: 6 });
    expect(emitted[1]?.[0]).toMatchObject({ msuFeature: 'raw' });
    expect(emitted[2]?.[0]).toMatchObject({ dualReweight: false });
    await k.setValue('');
    expect(emitted[3]?.[0]).toMatchObject({ k: null });
  });

  it('says so when a method has no parameters', () => {
    const wrapper = mount(ParamForm, { props: { fields: schemaFields({}), modelValue: {} } });
    expect(wrapper.get('[data-test="no-params"]').text()).toBe('This method has no parameters.');
  });
});

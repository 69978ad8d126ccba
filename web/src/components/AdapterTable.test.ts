import { describe, expect, it } from 'vitest';
import { mount } from '@vue/test-utils';
import { createMemoryHistory, createRouter } from 'vue-router';
import AdapterTable from './AdapterTable.vue';
import { queryRows, type ColumnSpec } from '../utils/table-query.ts';
import { summary } from '../test-support/fixtures.ts';

const adapters = [
  summary({ id: 'a', name: 'gemma3-svg-main', maxRank: 4, ranks: [4], sizeBytes: 1_493_200, targets: ['k_proj', 'o_proj', 'q_proj', 'v_proj'] }),
  summary({ id: 'b', name: 'gpt2-tigrinya', baseModel: 'gpt2', maxRank: 8, ranks: [8], sizeBytes: 3_253_104, targets: ['c_attn', 'c_proj'] }),
  summary({ id: 'c', name: 'gemma3-logo', maxRank: 4, ranks: [4], sizeBytes: 746_568 }),
  summary({ id: 'd', name: 'opt125m-lab08', baseModel: null, dtype: 'BF16', maxRank: 16, ranks: [16], sizeBytes: 1_186_328 }),
];

function mountTable(selected: string[] = []) {
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/:p(.*)*', component: { template: '<div/>' } }] });
  return mount(AdapterTable, { props: { adapters, selected }, global: { plugins: [router] } });
}
const names = (w: ReturnType<typeof mountTable>): string[] => w.findAll('[data-test="adapter-name"]').map((n) => n.text());

describe('adapter table: search and sort', () => {
  it('starts sorted by name', () => {
    expect(names(mountTable())).toEqual(['gemma3-logo', 'gemma3-svg-main', 'gpt2-tigrinya', 'opt125m-lab08']);
  });

  it('sorts by size, largest first on the first click, smallest first on the second', async () => {
    const w = mountTable();
    await w.get('[data-test="sort-size"]').trigger('click');
    expect(names(w)).toEqual(['gpt2-tigrinya', 'gemma3-svg-main', 'opt125m-lab08', 'gemma3-logo']);
    expect(w.get('[data-test="sort-size"]').element.closest('th')?.getAttribute('aria-sort')).toBe('descending');
    await w.get('[data-test="sort-size"]').trigger('click');
    expect(names(w)).toEqual(['gemma3-logo', 'opt125m-lab08', 'gemma3-svg-main', 'gpt2-tigrinya']);
  });

  it('sorts missing base models last in both directions', async () => {
    const w = mountTable();
    await w.get('[data-test="sort-baseModel"]').trigger('click');
    expect(names(w).at(-1)).toBe('opt125m-lab08');
    await w.get('[data-test="sort-baseModel"]').trigger('click');
    expect(names(w).at(-1)).toBe('opt125m-lab08');
  });

  it('searches name, base model and targets, every term must match', async () => {
    const w = mountTable();
    await w.get('[data-test="adapter-search"]').setValue('gemma o_proj');
    expect(names(w)).toEqual(['gemma3-svg-main']);
    expect(w.get('[data-test="adapter-count"]').text()).toBe('1 of 4');
    await w.get('[data-test="adapter-search"]').setValue('GPT2');
    expect(names(w)).toEqual(['gpt2-tigrinya']);
    await w.get('[data-test="adapter-search"]').setValue('bf16');
    expect(names(w)).toEqual(['opt125m-lab08']);
    await w.get('[data-test="adapter-search"]').setValue('nothing-like-this');
    expect(names(w)).toEqual([]);
    expect(w.text()).toContain('No adapter matches');
  });

  it('multi-selects rows and "select all" selects only the rows shown', async () => {
    const w = mountTable(['d']);
    await w.get('[data-test="adapter-search"]').setValue('gemma');
    await w.get('thead input[type="checkbox"]').setValue(true);
    const emitted = w.emitted('update:selected') ?? [];
    expect(new Set(emitted.at(-1)?.[0] as string[])).toEqual(new Set(['d', 'a', 'c']));
  });
});

describe('queryRows', () => {
  interface Row { name: string; rank: number | null }
  const columns: ColumnSpec<Row>[] = [
    { key: 'name', label: 'Name', value: (r) => r.name },
    { key: 'rank', label: 'Rank', value: (r) => r.rank, numeric: true },
  ];
  it('compares names naturally (layer 2 before layer 10) and is stable for ties', () => {
    const rows: Row[] = [
      { name: 'layers.10.q', rank: 4 },
      { name: 'layers.2.q', rank: 4 },
      { name: 'layers.1.q', rank: null },
    ];
    expect(queryRows(rows, columns, '', 'name', 'asc').map((r) => r.name)).toEqual(['layers.1.q', 'layers.2.q', 'layers.10.q']);
    expect(queryRows(rows, columns, '', 'rank', 'desc').map((r) => r.name)).toEqual(['layers.10.q', 'layers.2.q', 'layers.1.q']);
  });
});

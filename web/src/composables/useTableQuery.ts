// Search text + sort column + direction for one table, over rows given as a ref or getter.
import { computed, ref, toValue, type MaybeRefOrGetter } from 'vue';
import { queryRows, type ColumnSpec, type SortDirection } from '../utils/table-query.ts';

export function useTableQuery<Row>(
  rows: MaybeRefOrGetter<readonly Row[]>,
  columns: readonly ColumnSpec<Row>[],
  initial: { sortKey?: string | null; direction?: SortDirection } = {},
) {
  const search = ref('');
  const sortKey = ref<string | null>(initial.sortKey ?? null);
  const direction = ref<SortDirection>(initial.direction ?? 'asc');
  const visible = computed(() => queryRows(toValue(rows), columns, search.value, sortKey.value, direction.value));

  /** Click on a header: sort by it ascending, then descending, then back to ascending. */
  const toggleSort = (key: string): void => {
    if (sortKey.value === key) direction.value = direction.value === 'asc' ? 'desc' : 'asc';
    else {
      sortKey.value = key;
      direction.value = columns.find((c) => c.key === key)?.numeric ? 'desc' : 'asc';
    }
  };

  const ariaSort = (key: string): 'ascending' | 'descending' | 'none' =>
    sortKey.value === key ? (direction.value === 'asc' ? 'ascending' : 'descending') : 'none';

  return { search, sortKey, direction, visible, toggleSort, ariaSort };
}

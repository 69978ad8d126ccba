// Search and sort for the dashboard's tables, as pure functions over rows.

export type SortDirection = 'asc' | 'desc';

export interface ColumnSpec<Row> {
  readonly key: string;
  readonly label: string;
  /** The value sorted on; strings compare naturally ("q2" < "q10"), numbers numerically. */
  readonly value: (row: Row) => string | number | null | undefined;
  /** Whether the free-text search looks at this column (default true). */
  readonly searchable?: boolean;
  readonly numeric?: boolean;
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

export function compareValues(a: string | number | null | undefined, b: string | number | null | undefined): number {
  const aMissing = a === null || a === undefined || (typeof a === 'number' && Number.isNaN(a));
  const bMissing = b === null || b === undefined || (typeof b === 'number' && Number.isNaN(b));
  if (aMissing || bMissing) return aMissing === bMissing ? 0 : aMissing ? 1 : -1; // missing last
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return collator.compare(String(a), String(b));
}

/**
 * Rows whose searchable columns contain every whitespace-separated term of the query
 * (case-insensitive), sorted stably by the chosen column. Missing values always sort last.
 */
export function queryRows<Row>(
  rows: readonly Row[],
  columns: readonly ColumnSpec<Row>[],
  query: string,
  sortKey: string | null,
  direction: SortDirection,
): Row[] {
  const terms = query.toLowerCase().split(/\s+/).filter(Boolean);
  const searchable = columns.filter((c) => c.searchable !== false);
  const filtered =
    terms.length === 0
      ? rows.slice()
      : rows.filter((row) => {
          const haystack = searchable
            .map((c) => c.value(row))
            .filter((v) => v !== null && v !== undefined)
            .join(' ')
            .toLowerCase();
          return terms.every((t) => haystack.includes(t));
        });
  const column = sortKey === null ? undefined : columns.find((c) => c.key === sortKey);
  if (!column) return filtered;
  const sign = direction === 'asc' ? 1 : -1;
  const indexed = filtered.map((row, index) => ({ row, index, value: column.value(row) }));
  indexed.sort((x, y) => {
    const xm = x.value === null || x.value === undefined;
    const ym = y.value === null || y.value === undefined;
    if (xm || ym) return xm === ym ? x.index - y.index : xm ? 1 : -1;
    return sign * compareValues(x.value, y.value) || x.index - y.index;
  });
  return indexed.map((e) => e.row);
}

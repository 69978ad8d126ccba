// Small shared summaries used by the Markdown and HTML renderers.
import type { DecisionRoute } from '../diagnostics/intruder-scan.ts';
import type { DiagnosticsReport } from './schema.ts';

export const ROUTE_LABELS: Readonly<Record<DecisionRoute, string>> = {
  'partial-basis': 'certified partial basis (top-K base vectors)',
  'quadrature-bound': 'certified quadrature bound (Lanczos, no base vectors)',
  'full-svd': 'full SVD of W0',
};

export function fmt(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return String(x);
  if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e5)) return x.toExponential(2);
  return String(Number(x.toFixed(digits)));
}

/** How many tuned vectors were decided by each route (all modules, all adapters). */
export function routeTotals(report: DiagnosticsReport): Record<DecisionRoute, number> {
  const out: Record<DecisionRoute, number> = { 'partial-basis': 0, 'quadrature-bound': 0, 'full-svd': 0 };
  for (const m of report.modules) for (const v of m.intruders?.vectors ?? []) out[v.route]++;
  return out;
}

export function shortHash(hash: string): string {
  return hash.slice(0, 12);
}

// The report as JSON text (the --json file and the API body).
import type { DiagnosticsReport } from './schema.ts';

export function renderJson(report: DiagnosticsReport): string {
  return `${JSON.stringify(report, null, 1)}\n`;
}

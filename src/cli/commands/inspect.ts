// `awb inspect PATH [--json] [--strict] [--no-norms]`: format, base model, dtype, ranks, alpha
// and scale, targets, extras and the per-module ‖ΔW‖_F (factored, never m×n), with the tool
// version, input sha256s and the compute line. --json prints inspectAdapter's report
// (docs/inspect-schema.md), the same JSON the HTTP API returns.
import { parseArgs } from 'node:util';
import { WorkbenchError } from '../../errors.ts';
import { loadAdapter } from '../../adapter/load-adapter.ts';
import { describeCounts, inspectAdapter, type InspectReport } from '../../adapter/inspect-adapter.ts';
import { isAbsolute, resolve } from 'node:path';
import type { CliCommand, CliIo } from '../command.ts';

const USAGE = `usage: awb inspect PATH [--json] [--strict] [--no-norms]

Show an adapter (a folder or a .safetensors file): LoRA in PEFT, kohya, diffusers or MLX-LM form,
LoHa / LoKr (LyCORIS or PEFT), MiSS/Bone, VeRA, RandLoRA, LoRA-XS (shown in their LoRA form).

  --json       print the report as JSON (schema: docs/inspect-schema.md)
  --strict     fail with ADAPTER_NONFINITE when a factor holds NaN/Inf (default: report them)
  --no-norms   skip reading the factors (no ‖ΔW‖_F, faster on large adapters)`;

/** Up to 6 significant digits, no exponent for everyday magnitudes. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e9)) return value.toExponential(4);
  return String(Number(value.toPrecision(6)));
}

function pad(text: string, width: number): string {
  return text.length >= width ? `${text} ` : text + ' '.repeat(width - text.length);
}

const FAMILY_LABELS: Readonly<Record<string, string>> = {
  lora: 'LoRA', loha: 'LoHa', lokr: 'LoKr', miss: 'MiSS', vera: 'VeRA', randlora: 'RandLoRA', 'lora-xs': 'LoRA-XS', dora: 'DoRA', loldu: 'LoLDU',
};

/** "LoKr (exact, rank 8): 3 modules" per family, conversion and rank; nothing for a plain LoRA adapter. */
function familyLines(modules: InspectReport['modules']): string[] {
  if (!modules.some((m) => m.family)) return [];
  const groups = new Map<string, number>();
  for (const m of modules) {
    const f = m.family;
    const key = f ? `${FAMILY_LABELS[f.name] ?? f.name} (${f.conversion}, rank ${m.rank})` : `LoRA (plain, rank ${m.rank})`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  return [...groups].map(([key, n]) => `${key}: ${n} module${n === 1 ? '' : 's'}`);
}

export function renderInspectText(report: InspectReport, shownPath: string): string {
  const s = report.summary;
  const lines: string[] = [];
  const row = (label: string, value: string): void => {
    lines.push(`${pad(label, 10)}${value}`);
  };
  lines.push(`${report.tool.name} ${report.tool.version} · inspect`);
  row('adapter', `${report.adapter.name}  (${shownPath})`);
  row('format', report.adapter.format);
  row('base', report.adapter.baseModel ?? '(not stated)');
  if (report.adapter.taskType) row('task', report.adapter.taskType);
  row('dtype', report.adapter.dtype);
  row('modules', String(s.moduleCount));
  row('ranks', describeCounts('rank', s.ranks, s.moduleCount));
  row('alpha', describeCounts('alpha', s.alphas, s.moduleCount, (v) => formatNumber(Number(v))));
  row('scale', describeCounts('scale', s.scales, s.moduleCount, (v) => formatNumber(Number(v))));
  row('layout', describeCounts('', s.layouts, s.moduleCount).trim());
  row('targets', report.targets.map((t) => `${t.value} (${t.count})`).join(', '));
  row('params', `${formatNumber(s.parameterCount)} factor parameters`);
  for (const line of familyLines(report.modules)) row('family', line);
  if (s.doraModules > 0) row('dora', `${s.doraModules} module(s) carry a DoRA magnitude`);
  if (report.extras.length === 0) {
    row('extras', 'none');
  } else {
    row('extras', `${report.extras.length} tensor(s), written back unchanged on export`);
    for (const e of report.extras) lines.push(`${pad('', 10)}${e.key}  ${e.dtype} [${e.shape.join(', ')}]  (${e.role})`);
  }
  if (s.totalDeltaNorm !== null) row('‖ΔW‖_F', `${formatNumber(s.totalDeltaNorm)} over all modules (√Σ‖ΔW_i‖²)`);
  if (s.nonFiniteValues) row('NaN/Inf', `${formatNumber(s.nonFiniteValues)} non-finite factor values`);
  for (const f of report.adapter.files) row('file', `${f.name}  ${formatNumber(f.sizeBytes)} B  sha256 ${f.sha256}`);
  row('compute', report.compute);
  for (const w of report.warnings) row('warning', w);
  lines.push('');
  const nameWidth = Math.max(6, ...report.modules.map((m) => m.name.length)) + 2;
  const hasNorms = report.modules.some((m) => m.nonFinite !== null);
  lines.push(`${pad('module', nameWidth)}${pad('out×in', 13)}${pad('rank', 6)}${pad('scale', 10)}${hasNorms ? '‖ΔW‖_F' : ''}`);
  for (const m of report.modules) {
    const norm = !hasNorms ? '' : m.deltaNorm !== null ? formatNumber(m.deltaNorm) : `— (${m.nonFinite} NaN/Inf)`;
    lines.push(`${pad(m.name, nameWidth)}${pad(`${m.outFeatures}×${m.inFeatures}`, 13)}${pad(String(m.rank), 6)}${pad(formatNumber(m.scale), 10)}${norm}`.trimEnd());
  }
  return `${lines.join('\n')}\n`;
}

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      strict: { type: 'boolean', default: false },
      'no-norms': { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) {
    throw new WorkbenchError('INVALID_ARGUMENT', `inspect takes exactly one PATH, got ${positionals.length}\n${USAGE}`, {
      details: { positionals },
    });
  }
  const shown = positionals[0]!;
  const path = isAbsolute(shown) ? shown : resolve(io.cwd, shown);
  // Without norms nothing reads the factors, unless --strict asks for the NaN/Inf scan.
  const adapter = await loadAdapter(path, { allowNonFinite: !values.strict, scanNonFinite: values.strict || !values['no-norms'] });
  try {
    const report = await inspectAdapter(adapter, { norms: !values['no-norms'], signal: io.signal });
    io.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderInspectText(report, shown));
    return 0;
  } finally {
    await adapter.close();
  }
}

export const command: CliCommand = {
  name: 'inspect',
  summary: 'show an adapter: format, ranks, scales, targets, extras, norms',
  usage: USAGE,
  run,
};

// A Markdown summary of a diagnostics report, for pull requests and model cards.
import type { DiagnosticsReport } from './schema.ts';
import { fmt, ROUTE_LABELS, routeTotals, shortHash } from './summary.ts';
import type { DecisionRoute } from '../diagnostics/intruder-scan.ts';

const esc = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export interface MarkdownOptions {
  /** Most module rows in the per-module table (default 50; the JSON has all). */
  readonly maxModules?: number;
}

export function renderMarkdown(report: DiagnosticsReport, options: MarkdownOptions = {}): string {
  const max = options.maxModules ?? 50;
  const lines: string[] = [];
  const names = report.inputs.adapters.map((a) => a.name).join(', ');
  lines.push(`# Spectral diagnostics: ${esc(names)}`, '');
  lines.push(
    `${report.tool.name} ${report.tool.version} · backend \`${report.backend}\` · seed ${report.seed} · k = ${report.settings.k} · ε = ${report.settings.epsilons.join(', ')} · route ${report.settings.route} · ${report.createdAt}`,
    '',
  );
  lines.push('## Inputs', '', '| adapter | format | modules | sha256 |', '|---|---|---:|---|');
  for (const a of report.inputs.adapters) {
    lines.push(`| ${esc(a.name)} | ${a.format} | ${a.moduleCount} | ${a.sha256.map((h) => `${esc(h.file)} \`${shortHash(h.sha256)}\``).join('<br>')} |`);
  }
  if (report.inputs.base) lines.push('', `Base: \`${esc(report.inputs.base.path)}\` (${report.inputs.base.tensorsAnalysed} weights analysed; per-tensor sha256 in the JSON report).`);
  if (report.inputs.mergeReport) lines.push('', `Merge report: \`${esc(report.inputs.mergeReport.path)}\` \`${shortHash(report.inputs.mergeReport.sha256)}\`.`);
  lines.push('');

  if (report.intruders) {
    lines.push('## Intruder dimensions', '');
    lines.push(
      `Top-${report.settings.k} left singular vectors of W0 + s·B·A whose max |cos| with every left singular vector of W0 is below ε (Shuttleworth et al., arXiv 2410.21228).`,
      '',
    );
    const header = ['adapter', 'modules', ...report.settings.epsilons.map((e) => `ε = ${e}`), 'full SVDs', 'from cache'];
    lines.push(`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`);
    for (const t of report.intruders) {
      lines.push(`| ${esc(t.adapter)} | ${t.modules} | ${t.counts.map((c) => String(c.intruders)).join(' | ')} | ${t.fullSvdModules} | ${t.cachedModules} |`);
    }
    const routes = routeTotals(report);
    lines.push('', 'Which route decided each tuned vector:', '');
    for (const key of Object.keys(routes) as DecisionRoute[]) lines.push(`- ${ROUTE_LABELS[key]}: ${routes[key]}`);
    const sweep = report.intruders[0]?.sweep ?? [];
    if (sweep.length > 0) {
      lines.push('', `ε sweep (${esc(report.intruders[0]!.adapter)}): ${sweep.map((c) => `${c.epsilon}→${c.intruders}${c.undecided ? `(+${c.undecided}?)` : ''}`).join(', ')}`);
    }
    lines.push('');
  }

  lines.push('## Modules', '');
  const withBase = report.modules.some((m) => m.intruders);
  const head = ['adapter', 'module', 'shape', 'rank', 'σ₁(ΔW)', 'erank', 'stable rank', `rank @${report.settings.suggestedEnergy * 100}%`];
  if (withBase) head.push(`intruders @ε=${report.settings.epsilons[0]}`, 'route(s)');
  lines.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
  const sorted = [...report.modules].sort((a, b) => (b.intruders?.counts[0]?.intruders ?? 0) - (a.intruders?.counts[0]?.intruders ?? 0));
  for (const m of sorted.slice(0, max)) {
    const row = [
      esc(m.adapter),
      `\`${esc(m.module)}\``,
      `${m.shape[0]}×${m.shape[1]}`,
      String(m.rank),
      fmt(m.spectrum.singularValues[0] ?? 0),
      fmt(m.spectrum.effectiveRank, 2),
      fmt(m.spectrum.stableRank, 2),
      String(m.spectrum.suggestedRank),
    ];
    if (withBase) {
      row.push(m.intruders ? String(m.intruders.counts[0]?.intruders ?? 0) : '—');
      row.push(m.intruders ? [...new Set(m.intruders.vectors.map((v) => v.route))].join(', ') : '—');
    }
    lines.push(`| ${row.join(' | ')} |`);
  }
  if (sorted.length > max) lines.push('', `(${sorted.length - max} more modules in the JSON report.)`);
  lines.push('');

  if (report.overlaps.length > 0) {
    lines.push('## Overlap between adapters', '', '| pair | common modules | column overlap | row overlap | sign conflict |', '|---|---:|---:|---:|---:|');
    for (const o of report.overlaps) {
      const a = report.inputs.adapters[o.first]!.name;
      const b = report.inputs.adapters[o.second]!.name;
      lines.push(`| ${esc(a)} ↔ ${esc(b)} | ${o.commonModules} | ${fmt(o.meanColumnOverlap)} | ${fmt(o.meanRowOverlap)} | ${fmt(o.meanSignConflict)} |`);
    }
    lines.push('');
  }
  if (report.retention.length > 0) {
    lines.push('## Retention after the merge', '', '| module | input | projection | relative error | source |', '|---|---|---:|---:|---|');
    for (const r of report.retention.slice(0, max)) {
      for (const i of r.inputs) lines.push(`| \`${esc(r.module)}\` | ${esc(i.input)} | ${fmt(i.projection)} | ${i.relativeError === null ? '—' : fmt(i.relativeError)} | ${r.source} |`);
    }
    lines.push('');
  }
  if (report.problems.length > 0 || report.warnings.length > 0) {
    lines.push('## Problems and warnings', '');
    for (const p of report.problems) lines.push(`- **${p.code}** ${esc(p.adapter)}: ${esc(p.message)}`);
    for (const w of report.warnings) lines.push(`- ${esc(w)}`);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

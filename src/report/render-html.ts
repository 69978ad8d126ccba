// One self-contained, offline HTML file: echarts.min.js inlined, the chart options
// precomputed by the shared builders (src/report/charts) and embedded as JSON, and a
// few lines of page script for the module selects and the ε slider. No network access
// (a CSP forbids it), no external files.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { WorkbenchError } from '../errors.ts';
import type { DiagnosticsReport } from './schema.ts';
import {
  effectiveRankOption,
  intruderHeatmapOption,
  intruderSweepOption,
  overlapOption,
  similarityOption,
  spectrumOption,
  unitProjectionOption,
  type ChartOption,
} from './charts/index.ts';
import { fmt, ROUTE_LABELS, routeTotals, shortHash } from './summary.ts';
import type { DecisionRoute } from '../diagnostics/intruder-scan.ts';

let echartsSource: string | undefined;

/** The ECharts browser bundle, read once from node_modules. */
export function echartsBundle(): string {
  if (echartsSource === undefined) {
    try {
      const path = createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js');
      echartsSource = readFileSync(path, 'utf8').replace(/<\/script/gi, '<\\/script');
    } catch (error) {
      throw new WorkbenchError('INTERNAL', 'cannot read echarts/dist/echarts.min.js; is the echarts package installed?', { cause: error });
    }
  }
  return echartsSource;
}

const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** JSON that is safe inside <script>: no "<", no U+2028/2029 line breaks. */
const scriptJson = (value: unknown): string =>
  JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

interface EmbeddedData {
  readonly spectra: ChartOption[];
  readonly similarity: (ChartOption | null)[];
  readonly bounds: ({ lower: number; upper: number }[] | null)[];
  readonly moduleLabels: string[];
  readonly firstEpsilon: number;
  readonly effectiveRank: ChartOption;
  readonly heatmaps: ChartOption[];
  readonly sweep: ChartOption | null;
  readonly overlap: ChartOption | null;
  readonly projections: { label: string; byAdapter: ChartOption; byCluster: ChartOption | null }[];
}

function embedded(report: DiagnosticsReport): EmbeddedData {
  const hasBase = report.intruders !== null;
  return {
    spectra: report.modules.map((_, i) => spectrumOption(report, i)),
    similarity: report.modules.map((m, i) => (m.intruders && m.intruders.similarity.length > 0 ? similarityOption(report, i) : null)),
    bounds: report.modules.map((m) => m.intruders?.vectors.map((v) => ({ lower: v.maxCosLower, upper: v.maxCosUpper })) ?? null),
    moduleLabels: report.modules.map((m) => (report.inputs.adapters.length > 1 ? `${m.adapter}: ${m.module}` : m.module)),
    firstEpsilon: report.settings.epsilons[0] ?? 0.5,
    effectiveRank: effectiveRankOption(report),
    heatmaps: hasBase ? report.intruders!.map((t) => intruderHeatmapOption(report, t.adapterIndex)) : [],
    sweep: hasBase ? intruderSweepOption(report) : null,
    overlap: report.overlaps.length > 0 ? overlapOption(report) : null,
    projections: report.projections.map((p, i) => ({
      label: p.module,
      byAdapter: unitProjectionOption(report, i, 'adapter'),
      byCluster: p.points.some((x) => x.cluster !== null) ? unitProjectionOption(report, i, 'cluster') : null,
    })),
  };
}

const PAGE_SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById('awb-data').textContent);
  var charts = {};
  window.__awbCharts = charts;
  function chart(id, option) {
    var el = document.getElementById(id);
    if (!el || !option) return null;
    var c = charts[id] || echarts.init(el, null, { renderer: 'canvas' });
    c.setOption(option, true);
    charts[id] = c;
    return c;
  }
  function fill(select, labels, keep) {
    labels.forEach(function (label, i) {
      if (keep && !keep(i)) return;
      var o = document.createElement('option');
      o.value = String(i); o.textContent = label; select.appendChild(o);
    });
  }
  chart('chart-erank', data.effectiveRank);
  data.heatmaps.forEach(function (opt, i) { chart('chart-heatmap-' + i, opt); });
  if (data.sweep) chart('chart-sweep', data.sweep);
  if (data.overlap) chart('chart-overlap', data.overlap);

  var moduleSelect = document.getElementById('module-select');
  fill(moduleSelect, data.moduleLabels);
  var eps = document.getElementById('eps');
  var epsValue = document.getElementById('eps-value');
  function showModule() {
    var i = Number(moduleSelect.value || 0);
    chart('chart-spectrum', data.spectra[i]);
    var sim = data.similarity[i];
    var simEl = document.getElementById('chart-similarity');
    if (simEl) {
      if (sim) { simEl.style.display = ''; chart('chart-similarity', sim); } else { simEl.style.display = 'none'; }
    }
    updateEps();
  }
  function updateEps() {
    if (!eps) return;
    var e = Number(eps.value);
    epsValue.textContent = e.toFixed(2);
    var i = Number(moduleSelect.value || 0);
    var b = data.bounds[i];
    var out = document.getElementById('eps-count');
    if (!b) { out.textContent = 'no base analysed for this module'; return; }
    var n = 0, u = 0;
    b.forEach(function (v) { if (v.upper < e) n++; else if (v.lower < e) u++; });
    out.textContent = n + ' intruder(s) among the top ' + b.length + (u ? ' (+' + u + ' undecided at this ε)' : '');
    var c = charts['chart-similarity'];
    if (c) c.setOption({ visualMap: { type: 'piecewise', pieces: [{ lt: e, color: '#fde0dd' }, { gte: e, color: '#313695' }], min: 0, max: 1, orient: 'horizontal', left: 'center', bottom: 0 } });
  }
  moduleSelect.addEventListener('change', showModule);
  if (eps) eps.addEventListener('input', updateEps);
  showModule();

  var projSelect = document.getElementById('projection-select');
  var colourSelect = document.getElementById('projection-colour');
  if (projSelect && data.projections.length) {
    fill(projSelect, data.projections.map(function (p) { return p.label; }));
    var showProjection = function () {
      var p = data.projections[Number(projSelect.value || 0)];
      var byCluster = colourSelect && colourSelect.value === 'cluster' && p.byCluster;
      chart('chart-projection', byCluster ? p.byCluster : p.byAdapter);
    };
    projSelect.addEventListener('change', showProjection);
    if (colourSelect) colourSelect.addEventListener('change', showProjection);
    showProjection();
  }
  window.addEventListener('resize', function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); });
  document.body.setAttribute('data-charts-ready', String(Object.keys(charts).length));
})();
`;

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 16px; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 12px; } td, th { border: 1px solid #ddd; padding: 3px 6px; text-align: left; }
code { font-size: 12px; } .chart { width: 100%; height: 400px; } .controls { margin: 8px 0; }
.meta { color: #555; font-size: 12px; } .problem { color: #a00; }
`;

export function renderHtml(report: DiagnosticsReport): string {
  const data = embedded(report);
  const hasBase = report.intruders !== null;
  const routes = routeTotals(report);
  const adapters = report.inputs.adapters
    .map((a) => `<tr><td>${escapeHtml(a.name)}</td><td>${escapeHtml(a.format)}</td><td>${a.moduleCount}</td><td>${a.sha256.map((h) => `${escapeHtml(h.file)} <code>${shortHash(h.sha256)}</code>`).join('<br>')}</td></tr>`)
    .join('');
  const totals = hasBase
    ? report.intruders!
        .map((t) => `<tr><td>${escapeHtml(t.adapter)}</td><td>${t.modules}</td>${t.counts.map((c) => `<td>${c.intruders}</td>`).join('')}<td>${t.fullSvdModules}</td><td>${t.cachedModules}</td></tr>`)
        .join('')
    : '';
  const problems = [
    ...report.problems.map((p) => `<li class="problem"><b>${p.code}</b> ${escapeHtml(p.adapter)}: ${escapeHtml(p.message)}</li>`),
    ...report.warnings.map((w) => `<li>${escapeHtml(w)}</li>`),
  ].join('');
  const title = `Spectral diagnostics: ${report.inputs.adapters.map((a) => a.name).join(', ')}`;
  const body = `
<h1>${escapeHtml(title)}</h1>
<p class="meta">${escapeHtml(report.tool.name)} ${escapeHtml(report.tool.version)} · backend <code>${escapeHtml(report.backend)}</code> · seed ${report.seed} ·
k = ${report.settings.k} · ε = ${report.settings.epsilons.join(', ')} · route ${report.settings.route} · ${escapeHtml(report.createdAt)} · ${fmt(report.timings.seconds, 2)} s</p>
<h2>Inputs</h2>
<table><tr><th>adapter</th><th>format</th><th>modules</th><th>sha256</th></tr>${adapters}</table>
${report.inputs.base ? `<p>Base: <code>${escapeHtml(report.inputs.base.path)}</code> (${report.inputs.base.tensorsAnalysed} weights analysed)</p>` : '<p>No base model: adapter-only diagnostics.</p>'}
${
  hasBase
    ? `<h2>Intruder dimensions</h2>
<table><tr><th>adapter</th><th>modules</th>${report.settings.epsilons.map((e) => `<th>ε = ${e}</th>`).join('')}<th>full SVDs</th><th>from cache</th></tr>${totals}</table>
<p>Decided by route: ${(Object.keys(routes) as DecisionRoute[]).map((k) => `${escapeHtml(ROUTE_LABELS[k])}: ${routes[k]}`).join(' · ')}</p>
${data.heatmaps.map((_, i) => `<div class="chart" id="chart-heatmap-${i}"></div>`).join('')}
<div class="chart" id="chart-sweep"></div>`
    : ''
}
<h2>Per-module spectra</h2>
<div class="controls"><label>Module <select id="module-select"></select></label>
${hasBase ? `<label style="margin-left:16px">ε <input id="eps" type="range" min="0.05" max="0.95" step="0.01" value="${data.firstEpsilon}"> <span id="eps-value"></span></label> <span id="eps-count"></span>` : ''}</div>
<div class="chart" id="chart-spectrum"></div>
${hasBase ? '<div class="chart" id="chart-similarity"></div>' : ''}
<h2>Effective rank</h2>
<div class="chart" id="chart-erank"></div>
${report.overlaps.length > 0 ? '<h2>Overlap between adapters</h2><div class="chart" id="chart-overlap"></div>' : ''}
${
  report.projections.length > 0
    ? `<h2>Rank-one units (MSU) map</h2>
<div class="controls"><label>Module <select id="projection-select"></select></label>
<label style="margin-left:16px">Colour by <select id="projection-colour"><option value="adapter">source adapter</option><option value="cluster">LEGO cluster</option></select></label></div>
<div class="chart" id="chart-projection"></div>`
    : ''
}
${problems ? `<h2>Problems and warnings</h2><ul>${problems}</ul>` : ''}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
<script>${echartsBundle()}</script>
<script type="application/json" id="awb-data">${scriptJson(data)}</script>
<script type="application/json" id="awb-report">${scriptJson({ schemaVersion: report.schemaVersion, kind: report.kind, seed: report.seed, backend: report.backend, tool: report.tool })}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}

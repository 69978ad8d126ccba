// `awb analyze --adapter A [--adapter B …] [--base BASE] [--json F] [--html F] [--md F] …`:
// spectral diagnostics (spectra, effective rank, overlap; with a base, intruder
// dimensions) and the mitigation of intruders (--mitigate OUT). Reports state the
// backend, tool version, seed, input sha256s, ε, k and the route that decided each count.
import { parseArgs } from 'node:util';
import { isAbsolute, resolve } from 'node:path';
import { WorkbenchError } from '../../errors.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { runAnalysis, DEFAULT_EPSILON, DEFAULT_K, DEFAULT_SWEEP, type AnalyzeEvent } from '../../diagnostics/analyze.ts';
import { diskBasisCache, memoryBasisCache } from '../../diagnostics/base-basis.ts';
import { mitigateIntruders } from '../../diagnostics/mitigate-intruders.ts';
import { defaultCacheDir } from '../../diagnostics/analyze.ts';
import { selectBackend } from '../../compute/select-backend.ts';
import { renderHtml } from '../../report/render-html.ts';
import { renderJson } from '../../report/render-json.ts';
import { renderMarkdown } from '../../report/render-markdown.ts';
import { routeTotals } from '../../report/summary.ts';
import type { CliCommand, CliIo } from '../command.ts';

const USAGE = `usage: awb analyze --adapter A [--adapter B …] [--base BASE] [options]

Spectral diagnostics of LoRA adapters. Without --base: singular values, effective and
stable rank, energy ranks (suggested resize), unit norms, and between adapters the
subspace overlap, unit cosines and sign conflicts. With --base (a .safetensors file, an
index json, or a folder): intruder dimensions (Shuttleworth et al. 2024).

  --adapter PATH        an adapter folder or file (repeat for several; positionals work too)
  --base PATH           the base model the adapters were trained on
  --json FILE           write the report JSON (docs/report-schema.md)
  --html FILE           write a self-contained offline HTML report with charts
  --md FILE             write a Markdown summary
  --k N                 top-k tuned singular vectors examined (default ${DEFAULT_K})
  --epsilon E[,E…]      thresholds decided exactly (default ${DEFAULT_EPSILON})
  --sweep E,E,…         thresholds for the ε curve (default ${DEFAULT_SWEEP.join(',')})
  --backend NAME        where W0 is kept for the iterative products: auto (default), wasm, ts, cpu, webgpu,
                        tensorflow (AWB_BACKEND also works); certificates are always computed in f64
  --route auto|full     auto: certified partial basis first (default); full: full SVD of every base weight
  --seed N              seed of the randomised iterations (default 42)
  --cache-dir DIR       where base spectra are cached (default ${'$'}XDG_CACHE_HOME/.awb-cache)
  --no-cache            keep base spectra in memory only
  --modules S[,S…]      only modules whose name contains one of these strings
  --merge-report FILE   merge-report.json: retention per input and LEGO clusters
  --merged PATH         a merged adapter: recompute the retention of each input against it
  --mitigate OUT        also write a PEFT adapter whose intruders are scaled by λ (needs --base, one adapter)
  --lambda L            fraction of each intruder kept (default 0.75; 0 removes, 1 is a no-op)
  --out-rank exact|same exact rank r + |I| (default) or truncate to r like PEFT
  --overwrite           replace an existing --mitigate folder
  --quiet               no progress on stderr`;

function numberList(text: string | undefined, name: string): number[] | undefined {
  if (text === undefined) return undefined;
  const values = text.split(',').map((s) => Number(s.trim()));
  if (values.length === 0 || values.some((v) => !Number.isFinite(v))) {
    throw new WorkbenchError('INVALID_ARGUMENT', `--${name} expects numbers separated by commas, got "${text}"`, { details: { [name]: text } });
  }
  return values;
}

function integer(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (!Number.isInteger(v)) throw new WorkbenchError('INVALID_ARGUMENT', `--${name} expects an integer, got "${text}"`, { details: { [name]: text } });
  return v;
}

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      adapter: { type: 'string', multiple: true },
      base: { type: 'string' },
      json: { type: 'string' },
      html: { type: 'string' },
      md: { type: 'string' },
      k: { type: 'string' },
      epsilon: { type: 'string' },
      sweep: { type: 'string' },
      route: { type: 'string' },
      seed: { type: 'string' },
      'cache-dir': { type: 'string' },
      'no-cache': { type: 'boolean', default: false },
      modules: { type: 'string' },
      'merge-report': { type: 'string' },
      merged: { type: 'string' },
      mitigate: { type: 'string' },
      lambda: { type: 'string' },
      'out-rank': { type: 'string' },
      overwrite: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      backend: { type: 'string' },
    },
  });
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(io.cwd, p));
  const adapters = [...(values.adapter ?? []), ...positionals].map(abs);
  if (adapters.length === 0) {
    throw new WorkbenchError('INVALID_ARGUMENT', `analyze needs at least one --adapter\n${USAGE}`);
  }
  const route = values.route ?? 'auto';
  if (route !== 'auto' && route !== 'full') {
    throw new WorkbenchError('INVALID_ARGUMENT', `--route must be "auto" or "full", got "${route}"`, { details: { route } });
  }
  const outRank = values['out-rank'] ?? 'exact';
  if (outRank !== 'exact' && outRank !== 'same') {
    throw new WorkbenchError('INVALID_ARGUMENT', `--out-rank must be "exact" or "same", got "${outRank}"`, { details: { outRank } });
  }
  if (values.mitigate !== undefined && (values.base === undefined || adapters.length !== 1)) {
    throw new WorkbenchError('INVALID_ARGUMENT', '--mitigate needs --base and exactly one adapter');
  }
  const epsilons = numberList(values.epsilon, 'epsilon');
  const lambda = numberList(values.lambda, 'lambda')?.[0];
  const k = integer(values.k, 'k');
  const seed = integer(values.seed, 'seed');
  const cacheDir = values['no-cache'] ? null : abs(values['cache-dir'] ?? defaultCacheDir(io.env));
  const cache = cacheDir === null ? memoryBasisCache() : diskBasisCache(cacheDir);
  const progress = (event: AnalyzeEvent): void => {
    if (values.quiet) return;
    if (event.type === 'module' && event.phase === 'done') io.stderr.write(`[${event.index}/${event.total}] ${event.adapter}: ${event.module}\n`);
    if (event.type === 'warning') io.stderr.write(`warning: ${event.message}\n`);
  };
  // --backend wins over AWB_BACKEND; without either, the automatic choice (as every command).
  const { backend } = await selectBackend({ backend: values.backend, env: io.env });
  const report = await runAnalysis(
    {
      adapters,
      backend,
      base: values.base === undefined ? undefined : abs(values.base),
      mergeReport: values['merge-report'] === undefined ? undefined : abs(values['merge-report']),
      merged: values.merged === undefined ? undefined : abs(values.merged),
      k,
      epsilons,
      sweep: numberList(values.sweep, 'sweep'),
      seed,
      route,
      cache,
      cacheDir,
      modules: values.modules?.split(',').map((s) => s.trim()).filter(Boolean),
      signal: io.signal,
    },
    progress,
  );
  const withCacheDir = { ...report, settings: { ...report.settings, cacheDir } };
  if (values.json) await writeFileAtomic(abs(values.json), new TextEncoder().encode(renderJson(withCacheDir)));
  if (values.html) await writeFileAtomic(abs(values.html), new TextEncoder().encode(renderHtml(withCacheDir)));
  if (values.md) await writeFileAtomic(abs(values.md), new TextEncoder().encode(renderMarkdown(withCacheDir)));

  const lines: string[] = [];
  lines.push(`${report.tool.name} ${report.tool.version} · analyze · backend ${report.backend} · seed ${report.seed}`);
  for (const a of report.inputs.adapters) lines.push(`adapter   ${a.name} (${a.format}, ${a.moduleCount} modules) sha256 ${a.sha256.map((h) => h.sha256).join(', ')}`);
  const mean = (xs: number[]): number => (xs.length ? xs.reduce((x, y) => x + y, 0) / xs.length : 0);
  for (const a of report.inputs.adapters) {
    const mine = report.modules.filter((m) => m.adapterIndex === a.index);
    lines.push(`spectra   ${a.name}: ${mine.length} modules, mean effective rank ${mean(mine.map((m) => m.spectrum.effectiveRank)).toFixed(2)}, mean rank @99% energy ${mean(mine.map((m) => m.spectrum.suggestedRank)).toFixed(2)}`);
  }
  if (report.intruders) {
    for (const t of report.intruders) {
      lines.push(`intruders ${t.adapter}: ${t.counts.map((c) => `ε=${c.epsilon}: ${c.intruders}`).join(', ')} (k=${report.settings.k}, ${t.modules} modules, ${t.fullSvdModules} full SVDs, ${t.cachedModules} from cache)`);
    }
    const routes = routeTotals(report);
    lines.push(`routes    partial basis ${routes['partial-basis']}, quadrature bound ${routes['quadrature-bound']}, full SVD ${routes['full-svd']}`);
  }
  for (const o of report.overlaps) {
    lines.push(`overlap   ${report.inputs.adapters[o.first]!.name} ↔ ${report.inputs.adapters[o.second]!.name}: column ${o.meanColumnOverlap.toFixed(4)}, row ${o.meanRowOverlap.toFixed(4)}, sign conflict ${o.meanSignConflict.toFixed(4)} over ${o.commonModules} modules`);
  }
  for (const p of report.problems) lines.push(`problem   [${p.code}] ${p.adapter}: ${p.message}`);
  for (const [flag, file] of [['json', values.json], ['html', values.html], ['md', values.md]] as const) {
    if (file) lines.push(`wrote     ${flag}: ${file}`);
  }
  if (values.mitigate !== undefined) {
    const result = await mitigateIntruders({
      adapter: adapters[0]!,
      base: abs(values.base!),
      outDir: abs(values.mitigate),
      k: k ?? DEFAULT_K,
      epsilon: epsilons?.[0] ?? DEFAULT_EPSILON,
      lambda,
      outRank,
      seed,
      cache,
      overwrite: values.overwrite,
      signal: io.signal,
    });
    const changed = result.modules.filter((m) => m.intruders.length > 0);
    lines.push(
      `mitigate  λ=${result.lambda}, ε=${result.epsilon}: ${changed.length} of ${result.modules.length} modules changed; ranks ${changed.map((m) => `${m.rankIn}→${m.rankOut} (exact ${m.exactRank})`).join(', ') || '—'}; wrote ${result.path}`,
    );
  }
  io.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

export const command: CliCommand = {
  name: 'analyze',
  summary: 'spectral diagnostics, with or without --base',
  usage: USAGE,
  run,
};

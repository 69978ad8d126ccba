// `awb merge RECIPE.yaml -o OUT/` or `awb merge --method lego --k 16 A/ B/ C/ -o OUT/`:
// plans and runs a merge, showing progress on a TTY (stderr), NDJSON events with
// --json, nothing with --quiet. Ctrl-C (io.signal) leaves no partial output.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { WorkbenchError, fromFsError } from '../../errors.ts';
import { executeMerge, getMergeMethod, parseRecipe, planMerge, type MergeReport, type RecipeInput } from '../../merge/index.ts';
import { OUTPUT_DTYPES, OUTPUT_FORMATS, MODULE_POLICIES } from '../../merge/recipe.ts';
import type { CliCommand, CliIo } from '../command.ts';
import { numberOption, oneOf } from '../option-values.ts';

const USAGE = `usage:
  awb merge RECIPE.yaml -o OUT/ [--overwrite] [--json|--quiet]
  awb merge --method NAME A/ B/ ... -o OUT/ [options]

options (without a recipe):
  --method NAME        cat, linear, svd, lego, ties, dare_linear, dare_ties, magnitude_prune,
                       linear_peft_factorwise, fedavg, ffa, fair_ridge
  --weights 1,0.5,..   one weight per input (default 1 each)
  --k N                clusters for lego (= output rank)
  --rank R             output rank (svd, linear, ties/dare/magnitude_prune; lego: same as --k)
  --density D          fraction kept for ties/dare/magnitude_prune
  --param KEY=VALUE    any other method parameter (repeatable; numbers, true/false, strings)
  --seed N             seed for k-means, DARE masks, randomized SVD (default 42)
  --dtype F32|F16|BF16 output dtype (default F32)
  --format peft|kohya  output format (default peft)
  --modules union|intersection   which modules to merge (default union: missing = zero delta)
  --include GLOB / --exclude GLOB   module name globs (repeatable)
  --allow-base-mismatch           merge inputs that declare different base models
  --overwrite          replace a non-empty OUT/
  --json               NDJSON progress on stderr, the report summary as JSON on stdout
  --quiet              print nothing but errors`;

function parseValue(text: string): unknown {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text === 'null') return null;
  const n = Number(text);
  return text.trim() !== '' && Number.isFinite(n) ? n : text;
}

function summaryLine(report: MergeReport, outDir: string): string {
  const s = report.summary;
  return (
    `merged ${report.output.moduleCount} modules of ${report.inputs.length} inputs with ${report.method} → ${outDir} ` +
    `(rank ${report.output.rank}, ${report.output.dtype}); relative error vs exact weighted sum: mean ${s.meanRelativeErrorVsExact.toFixed(4)}, ` +
    `max ${s.maxRelativeErrorVsExact.toFixed(4)}; seed ${report.seed}; backend ${report.backend}\n`
  );
}

export const command: CliCommand = {
  name: 'merge',
  summary: 'merge adapters from a recipe or from the command line',
  usage: USAGE,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: {
        out: { type: 'string', short: 'o' },
        method: { type: 'string' },
        weights: { type: 'string' },
        k: { type: 'string' },
        rank: { type: 'string' },
        density: { type: 'string' },
        param: { type: 'string', multiple: true },
        seed: { type: 'string' },
        dtype: { type: 'string' },
        format: { type: 'string' },
        modules: { type: 'string' },
        include: { type: 'string', multiple: true },
        exclude: { type: 'string', multiple: true },
        'allow-base-mismatch': { type: 'boolean' },
        overwrite: { type: 'boolean' },
        json: { type: 'boolean' },
        quiet: { type: 'boolean' },
      },
    });
    if (!values.out) throw new WorkbenchError('INVALID_ARGUMENT', 'merge needs an output folder: -o OUT/');
    if (positionals.length === 0) throw new WorkbenchError('INVALID_ARGUMENT', `merge needs a recipe or input adapters\n${USAGE}`);
    const outDir = resolve(io.cwd, values.out);
    let recipe: RecipeInput;
    let baseDir = io.cwd;
    const isRecipe = values.method === undefined && positionals.length === 1 && /\.(ya?ml|json)$/i.test(positionals[0]!);
    if (isRecipe) {
      const path = resolve(io.cwd, positionals[0]!);
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (error) {
        throw fromFsError(error, path, 'read recipe');
      }
      recipe = parseRecipe(text, path);
      baseDir = dirname(path);
    } else {
      if (!values.method) throw new WorkbenchError('INVALID_ARGUMENT', 'give a recipe file, or --method NAME with input adapters');
      const method = getMergeMethod(values.method);
      const weights = values.weights === undefined ? positionals.map(() => 1) : values.weights.split(',').map((w) => numberOption('weights', w)!);
      if (weights.length !== positionals.length) {
        throw new WorkbenchError('INVALID_ARGUMENT', `--weights gives ${weights.length} weights for ${positionals.length} inputs`, {
          details: { weights: weights.length, inputs: positionals.length },
        });
      }
      const params: Record<string, unknown> = {};
      for (const p of values.param ?? []) {
        const eq = p.indexOf('=');
        if (eq <= 0) throw new WorkbenchError('INVALID_ARGUMENT', `--param expects KEY=VALUE, got "${p}"`);
        params[p.slice(0, eq)] = parseValue(p.slice(eq + 1));
      }
      const k = numberOption('k', values.k);
      if (k !== undefined) params.k = k;
      const density = numberOption('density', values.density);
      if (density !== undefined) params.density = density;
      const rank = numberOption('rank', values.rank);
      if (rank !== undefined) params[method.name === 'lego' ? 'k' : 'rank'] = rank;
      recipe = {
        method: method.name,
        params,
        inputs: positionals.map((path, i) => ({ path, weight: weights[i]! })),
        modules: {
          policy: oneOf('modules', values.modules, MODULE_POLICIES) ?? 'union',
          include: values.include ?? [],
          exclude: values.exclude ?? [],
        },
        output: { format: oneOf('format', values.format, OUTPUT_FORMATS) ?? 'peft', dtype: oneOf('dtype', values.dtype, OUTPUT_DTYPES) ?? 'F32' },
        allowBaseMismatch: values['allow-base-mismatch'] ?? false,
        ...(values.seed === undefined ? {} : { seed: numberOption('seed', values.seed)! }),
      };
    }
    const plan = planMerge(recipe);
    const tty = io.stderr.isTTY === true && !values.json && !values.quiet;
    let report: MergeReport | undefined;
    for await (const event of executeMerge(plan, { outDir, baseDir, signal: io.signal, overwrite: values.overwrite ?? false })) {
      if (values.json) {
        io.stderr.write(`${JSON.stringify(event.type === 'done' ? { type: 'done', outDir: event.outDir } : event)}\n`);
      } else if (tty && event.type === 'module' && event.phase === 'merge') {
        const width = 24;
        const filled = Math.round(((event.index + 1) / event.total) * width);
        io.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${event.index + 1}/${event.total} ${event.module.slice(-48).padEnd(48)}`);
      } else if (tty && event.type === 'write') {
        io.stderr.write(`\r${' '.repeat(80)}\rwriting ${event.path}\n`);
      }
      if (event.type === 'done') report = event.report;
    }
    if (!report) throw new WorkbenchError('INTERNAL', 'merge finished without a report');
    if (values.json) {
      io.stdout.write(`${JSON.stringify({ outDir, planSha256: report.planSha256, method: report.method, seed: report.seed, backend: report.backend, output: report.output, summary: report.summary, warnings: report.warnings })}\n`);
    } else if (!values.quiet) {
      for (const w of report.warnings) io.stderr.write(`warning: ${w}\n`);
      io.stdout.write(summaryLine(report, values.out));
    }
    return 0;
  },
};

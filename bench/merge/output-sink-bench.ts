// Streaming merge output (src/merge/merge-output-sink.ts): writes a merged PEFT adapter in the
// Llama-2-7B layout (q,k,v,o 4096×4096; gate,up 11008×4096; down 4096×11008), rank 16, 32 layers
// (160 MB in F32), three ways, each in its own child process so that its peak RSS is its own:
//   reserved    — the sink with a plan: header space reserved, tensor bytes written straight into
//                 the weights file, header written last into the reservation (no copy);
//   copy        — the sink without a plan: bytes to a scratch file, header + copy at the end
//                 (the baseline the ratio is against, measured in the same run);
//   accumulate  — the previous executor's way: every encoded tensor kept in memory, then the
//                 whole file serialised and written atomically at the end (writeSafetensors).
// Runs alternate (reserved, copy, accumulate) × repeats; medians are reported.
//
// usage: node bin/run-ts.js bench/merge/output-sink-bench.ts [--layers 32] [--rank 16]
//          [--dtypes F32,BF16] [--repeats 3] [--out bench/results/output-sink.md]
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openMergeOutput, type MergedModule } from '../../src/merge/merge-output-sink.ts';
import { writeSafetensors } from '../../src/safetensors/writer.ts';
import { mkdir } from 'node:fs/promises';
import { encode, type ExportDType } from '../../src/adapter/export-tensors.ts';
import { peftFactorKeys } from '../../src/adapter/export-peft.ts';
import { createRng } from '../../src/util/rng.ts';
import type { Mat } from '../../src/tensor/matrix.ts';
import type { TensorToWrite } from '../../src/safetensors/writer.ts';
import { TOOL_VERSION } from '../../src/version.ts';
import { LLAMA_MODULES } from './llama-layout.ts';

const MODES = ['reserved', 'copy', 'accumulate'] as const;
type Mode = (typeof MODES)[number];

const { values } = parseArgs({
  options: {
    layers: { type: 'string', default: '32' },
    rank: { type: 'string', default: '16' },
    dtypes: { type: 'string', default: 'F32,BF16' },
    repeats: { type: 'string', default: '3' },
    out: { type: 'string', default: 'bench/results/output-sink.md' },
    child: { type: 'string' },
    dtype: { type: 'string' },
    dir: { type: 'string' },
  },
});
const layers = Number(values.layers);
const rank = Number(values.rank);

interface ChildResult {
  readonly mode: Mode;
  readonly seconds: number;
  /** Time spent in finish() (header, copy if any, texts, fsync, rename), or in writeMergeOutput. */
  readonly finishSeconds: number;
  readonly maxRssMb: number;
  readonly outputBytes: number;
  readonly headerInPlace: boolean;
}

/** One reused pair of factors per shape (the sink may reuse them once addModule resolves). */
function factorsFor(m: number, n: number, cache: Map<string, { B: Mat; A: Mat }>): { B: Mat; A: Mat } {
  const key = `${m}x${n}`;
  let f = cache.get(key);
  if (!f) {
    const rng = createRng(m * 31 + n);
    const B = { rows: m, cols: rank, data: new Float64Array(m * rank) };
    const A = { rows: rank, cols: n, data: new Float64Array(rank * n) };
    for (const x of [B, A]) for (let i = 0; i < x.data.length; i++) x.data[i] = (rng.next() - 0.5) * 0.02;
    f = { B, A };
    cache.set(key, f);
  }
  return f;
}

function* modules(): Generator<MergedModule> {
  const cache = new Map<string, { B: Mat; A: Mat }>();
  for (let l = 0; l < layers; l++) {
    for (const [suffix, m, n] of LLAMA_MODULES) {
      const { B, A } = factorsFor(m, n, cache);
      yield { name: `model.layers.${l}.${suffix}`, layout: { kind: 'linear' }, outFeatures: m, inFeatures: n, B, A };
    }
  }
}

async function child(mode: Mode, dtype: ExportDType, dir: string): Promise<void> {
  const out = join(dir, `out-${mode}`);
  const metadata = { format: 'pt', awb_bench: 'output-sink', awb_recipe: JSON.stringify({ method: 'cat', layers, rank }) };
  const texts = { 'merge-report.json': '{}\n' };
  const t0 = performance.now();
  let tFinish = t0;
  let outputBytes = 0;
  let headerInPlace = false;
  if (mode === 'accumulate') {
    const tensors: TensorToWrite[] = [];
    for (const mod of modules()) {
      const keys = peftFactorKeys(mod.name, mod.layout);
      tensors.push({ name: keys.A, dtype, shape: [rank, mod.inFeatures], bytes: encode(dtype, mod.A.data) });
      tensors.push({ name: keys.B, dtype, shape: [mod.outFeatures, rank], bytes: encode(dtype, mod.B.data) });
      outputBytes += tensors.at(-1)!.bytes.byteLength + tensors.at(-2)!.bytes.byteLength;
    }
    tFinish = performance.now();
    await mkdir(out);
    await writeSafetensors(join(out, 'adapter_model.safetensors'), tensors, metadata);
    for (const [name, text] of Object.entries({ 'adapter_config.json': '{}\n', ...texts })) await writeFile(join(out, name), text);
  } else {
    const all = [...modules()].map(({ name, layout, outFeatures, inFeatures }) => ({ name, layout, outFeatures, inFeatures, maxRank: rank }));
    const sink = await openMergeOutput(out, { format: 'peft', dtype, overwrite: false, metadata, plan: mode === 'reserved' ? { modules: all } : undefined });
    for (const mod of modules()) await sink.addModule(mod);
    tFinish = performance.now();
    const result = await sink.finish({ texts });
    outputBytes = result.weightsBytes;
    headerInPlace = result.headerInPlace;
  }
  const t1 = performance.now();
  const result: ChildResult = {
    mode,
    seconds: (t1 - t0) / 1000,
    finishSeconds: (t1 - tFinish) / 1000,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    outputBytes,
    headerInPlace,
  };
  await rm(out, { recursive: true, force: true });
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'awb-sink-bench-'));
  const lines: string[] = [];
  const repeats = Number(values.repeats);
  try {
    const sections: string[] = [];
    for (const dtype of values.dtypes!.split(',') as ExportDType[]) {
      const runs = new Map<Mode, ChildResult[]>(MODES.map((m) => [m, []]));
      for (let r = 0; r < repeats; r++) {
        for (const mode of MODES) {
          const proc = spawnSync(process.execPath, ['bin/run-ts.js', process.argv[1]!, '--child', mode, '--dtype', dtype, '--dir', dir, '--layers', String(layers), '--rank', String(rank)], {
            encoding: 'utf8',
            maxBuffer: 1 << 24,
          });
          const line = proc.stdout.split('\n').find((l) => l.startsWith('RESULT '));
          if (!line) throw new Error(`child ${mode} ${dtype} failed: ${proc.stderr}`);
          const res = JSON.parse(line.slice(7)) as ChildResult;
          runs.get(mode)!.push(res);
          console.log(`${dtype} ${mode} #${r + 1}: ${res.seconds.toFixed(2)} s (finish ${res.finishSeconds.toFixed(2)} s), peak RSS ${res.maxRssMb.toFixed(0)} MB, ${(res.outputBytes / 1e6).toFixed(1)} MB, header in place: ${res.headerInPlace}`);
        }
      }
      const copy = runs.get('copy')!;
      const base = median(copy.map((x) => x.seconds));
      const baseFinish = median(copy.map((x) => x.finishSeconds));
      const rows = MODES.map((mode) => {
        const rs = runs.get(mode)!;
        const t = median(rs.map((x) => x.seconds));
        const f = median(rs.map((x) => x.finishSeconds));
        const rss = Math.max(...rs.map((x) => x.maxRssMb));
        return `| ${mode} | ${t.toFixed(2)} | ${(t / base).toFixed(2)} | ${f.toFixed(2)} | ${(f / baseFinish).toFixed(2)} | ${rss.toFixed(0)} | ${(rs[0]!.outputBytes / 1e6).toFixed(1)} | ${rs[0]!.headerInPlace ? 'yes' : 'no'} |`;
      });
      sections.push(
        `## ${dtype}\n\n| mode | total (s, median of ${repeats}) | × copy | finish (s) | × copy finish | peak RSS (MB, max) | weights (MB) | header in place |\n|---|---:|---:|---:|---:|---:|---:|---:|\n${rows.join('\n')}\n`,
      );
    }
    lines.push(
      '# Merge output sink benchmark',
      '',
      `Tool ${TOOL_VERSION}, Node ${process.version}. Workload: a merged PEFT adapter in the Llama-2-7B layout (7 modules × ${layers} layers), rank ${rank}, written module by module`,
      'from reused f64 factors (no merge arithmetic: this measures the output path only). Each run is its own child process (peak RSS = its maxRSS,',
      'Node + tsx alone ≈ 96 MB). "finish" = the time after the last module: header (+ copy of the data for copy), texts, fsync, rename;',
      'for accumulate it is the whole write, since nothing is written before. Ratios are against the copy mode in the same run.',
      '',
      ...sections,
      `Reproduce: \`node bin/run-ts.js bench/merge/output-sink-bench.ts --layers ${layers} --rank ${rank} --dtypes ${values.dtypes} --repeats ${repeats}\`. 2 shared cores, other jobs running: indicative.`,
      '',
    );
    await writeFile(values.out!, lines.join('\n'));
    console.log(lines.join('\n'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (values.child) await child(values.child as Mode, values.dtype as ExportDType, values.dir!);
else await main();

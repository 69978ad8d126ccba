// Merge benchmark (issue "Merge engine"): 4 synthetic rank-16 adapters in the Llama-2-7B
// layout (q,k,v,o 4096×4096; gate,up 11008×4096; down 4096×11008), seeded, F32 and BF16.
// Every method runs in its own child process so that its peak RSS is its own; each time is
// also given as a ratio against a plain read+write of the same input bytes measured in the
// same run. Then the factored svd merge against numpy densify + full SVD
// (bench/baselines/merge_dense_svd.py) on the same shapes.
//
// usage: node bin/run-ts.js bench/merge/merge-bench.ts [--layers 2] [--ties-layers 1]
//          [--dtypes F32,BF16] [--jobs cat,svd16,lego16,ties16] [--dense-shapes 1024x1024]
//          [--out bench/results/merge.md]
import { spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { floatTensor, writeSafetensors } from '../../src/safetensors/writer.ts';
import { writeFileAtomic } from '../../src/util/atomic-write.ts';
import { createRng } from '../../src/util/rng.ts';
import { planMerge, runMerge, type RecipeInput } from '../../src/merge/index.ts';
import { getMergeMethod } from '../../src/merge/registry.ts';
import { resolveParams } from '../../src/merge/param-schema.ts';
import { TOOL_VERSION } from '../../src/version.ts';
import type { FloatDType } from '../../src/dtype.ts';
import { LLAMA_MODULES } from './llama-layout.ts';

const RANK = 16;
const INPUTS = 4;

const { values } = parseArgs({
  options: {
    layers: { type: 'string', default: '2' },
    'ties-layers': { type: 'string', default: '1' },
    'ties-include': { type: 'string', default: '*.q_proj,*.down_proj' },
    dtypes: { type: 'string', default: 'F32,BF16' },
    jobs: { type: 'string', default: 'cat,svd16,lego16,ties16' },
    'dense-shapes': { type: 'string', default: '1024x1024' },
    out: { type: 'string', default: 'bench/results/merge.md' },
    child: { type: 'string' },
    dir: { type: 'string' },
    layersUsed: { type: 'string' },
  },
});

async function makeInputs(dir: string, layers: number, dtype: FloatDType): Promise<string[]> {
  const paths: string[] = [];
  for (let t = 0; t < INPUTS; t++) {
    const rng = createRng(1000 * t + 17);
    const tensors = [];
    for (let layer = 0; layer < layers; layer++) {
      for (const [mod, m, n] of LLAMA_MODULES) {
        const prefix = `base_model.model.model.layers.${layer}.${mod}`;
        const A = new Float32Array(RANK * n).map(() => rng.normal() * 0.01);
        const B = new Float32Array(m * RANK).map(() => rng.normal() * 0.01);
        tensors.push(floatTensor(`${prefix}.lora_A.weight`, dtype, [RANK, n], A), floatTensor(`${prefix}.lora_B.weight`, dtype, [m, RANK], B));
      }
    }
    const folder = join(dir, `${dtype}-in${t}`);
    await mkdir(folder, { recursive: true });
    await writeSafetensors(join(folder, 'adapter_model.safetensors'), tensors, { format: 'pt' });
    await writeFile(
      join(folder, 'adapter_config.json'),
      JSON.stringify({ peft_type: 'LORA', r: RANK, lora_alpha: 32, use_rslora: false, target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], base_model_name_or_path: 'meta-llama/Llama-2-7b-hf' }),
    );
    paths.push(folder);
  }
  return paths;
}

/** The node flags bin/awb.js gives `awb merge` (HEAVY_COMMAND_FLAGS there). */
const CLI_MERGE_FLAGS = ['--max-semi-space-size=1'];

interface ChildResult {
  readonly seconds: number;
  /** User + system CPU seconds of the job (steadier than wall time on a loaded machine). */
  readonly cpuSeconds: number;
  readonly maxRssMB: number;
  readonly meanRelErr?: number;
}

/** Child mode: run one job and print {seconds, maxRssMB}. */
async function child(job: string, dir: string, dtype: FloatDType, layers: number): Promise<void> {
  const inputs = Array.from({ length: INPUTS }, (_, t) => join(dir, `${dtype}-in${t}`));
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let meanRelErr: number | undefined;
  if (job === 'copy') {
    for (const [t, path] of inputs.entries()) {
      const bytes = await readFile(join(path, 'adapter_model.safetensors'));
      await writeFileAtomic(join(dir, `copy-${dtype}-${t}.safetensors`), new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    }
  } else {
    const [method, params] = (
      {
        cat: ['cat', {}],
        svd16: ['svd', { rank: 16 }],
        lego16: ['lego', { k: 16 }],
        ties16: ['ties', { density: 0.2, rank: 16 }],
      } as const
    )[job as 'cat']!;
    const recipe: RecipeInput = {
      method,
      params,
      inputs: inputs.map((path) => ({ path })),
      modules: {
        include:
          job === 'ties16'
            ? Array.from({ length: layers }, (_, l) => (values['ties-include'] ?? '*').split(',').map((g) => `model.layers.${l}.${g}`)).flat()
            : Array.from({ length: layers }, (_, l) => `model.layers.${l}.*`),
      },
      output: { dtype: dtype as 'F32' | 'F16' | 'BF16' },
    };
    const out = join(dir, `out-${job}-${dtype}`);
    await rm(out, { recursive: true, force: true });
    const report = await runMerge(planMerge(recipe), { outDir: out });
    meanRelErr = report.summary.meanRelativeErrorVsExact;
  }
  const seconds = (performance.now() - t0) / 1000;
  const c1 = process.cpuUsage(c0);
  const cpuSeconds = (c1.user + c1.system) / 1e6;
  const maxRssMB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ seconds, cpuSeconds, maxRssMB, meanRelErr })}\n`);
}

function runChild(job: string, dir: string, dtype: FloatDType, layers: number): ChildResult {
  // Children run with the V8 flags `awb merge` runs with (HEAVY_COMMAND_FLAGS in bin/awb.js).
  const r = spawnSync(process.execPath, [...CLI_MERGE_FLAGS, 'bin/run-ts.js', 'bench/merge/merge-bench.ts', '--child', job, '--dir', dir, '--dtypes', dtype, '--layersUsed', String(layers), '--ties-include', values['ties-include']!], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`child ${job} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ChildResult;
}

/** Fraction of a layer's LoRA bytes in the modules the ties job merges. */
function tiesByteShare(include: string): number {
  const globs = include.split(',').map((g) => new RegExp(`^${g.replace(/[.]/g, '\\.').replace(/\*/g, '.*')}$`));
  const size = (m: number, n: number) => RANK * (m + n);
  const all = LLAMA_MODULES.reduce((s, [, m, n]) => s + size(m, n), 0);
  const picked = LLAMA_MODULES.filter(([name]) => globs.some((g) => g.test(`x.${name}`))).reduce((s, [, m, n]) => s + size(m, n), 0);
  return picked / all;
}

async function factoredSvdSeconds(m: number, n: number): Promise<number> {
  const rng = createRng(5);
  // As in a merge: the svd method's own kernel on one module (inputs in shared memory, as the
  // executor loads them, so the span kernels may use their helper thread).
  const sharedMat = (rows: number, cols: number) => {
    const data = new Float64Array(new SharedArrayBuffer(rows * cols * 8));
    for (let i = 0; i < data.length; i++) data[i] = rng.normal() * 0.01;
    return { rows, cols, data };
  };
  const inputs = Array.from({ length: INPUTS }, (_, t) => ({ index: t, name: `in${t}`, contentHash: String(t), weight: 1, scale: 2, rank: RANK, B: sharedMat(m, RANK), A: sharedMat(RANK, n) }));
  const svd = getMergeMethod('svd');
  const params = resolveParams('svd', svd.params, { rank: 16 });
  const run = () => svd.run({ module: 'bench', outFeatures: m, inFeatures: n, inputs: [...inputs], inputCount: INPUTS, params, seed: 1 });
  // The first call warms the JIT (a merge runs this per module, so steady state is what counts).
  await run();
  const t0 = performance.now();
  await run();
  return (performance.now() - t0) / 1000;
}

async function main(): Promise<void> {
  if (values.child) {
    await child(values.child, values.dir!, values.dtypes as FloatDType, Number(values.layersUsed));
    return;
  }
  const layers = Number(values.layers);
  const tiesLayers = Number(values['ties-layers']);
  const dtypes = values.dtypes!.split(',').filter(Boolean) as FloatDType[];
  // --dir keeps the generated inputs (reused when present) for repeated runs and profiling.
  const keep = values.dir !== undefined;
  const dir = keep ? values.dir! : await mkdtemp(join(tmpdir(), 'awb-merge-bench-'));
  const lines: string[] = [];
  const log = (s: string) => {
    console.log(s);
    lines.push(s);
  };
  try {
    log(`# Merge engine benchmark`);
    log('');
    log(`Tool ${TOOL_VERSION}, Node ${process.version}, backend: typescript-f64 merge kernels (src/linalg), main thread.`);
    log(`Workload: ${INPUTS} synthetic seeded PEFT adapters, rank ${RANK}, Llama-2-7B layout (q,k,v,o 4096×4096; gate,up 11008×4096; down 4096×11008), ${layers} of 32 layers (ties: ${tiesLayers} layer(s), modules ${values['ties-include']}).`);
    log('Each job runs in its own process, with the node flags of `awb merge` (peak RSS = that process’s maxRSS). Ratio = job time / plain read+write of the same input bytes (raw copy, atomic write), measured in the same run.');
    log('');
    for (const dtype of dtypes) {
      const maxLayers = Math.max(layers, tiesLayers);
      const marker = join(dir, `${dtype}-inputs-${maxLayers}.done`);
      if (!keep || !existsSync(marker)) {
        await makeInputs(dir, maxLayers, dtype);
        await writeFile(marker, '');
      }
      const copy = runChild('copy', dir, dtype, layers);
      log(`## ${dtype}`);
      log('');
      log('| job | layers | time (s) | × read+write | CPU (s) | CPU × read+write | peak RSS (MB) | mean rel. error vs exact sum |');
      log('|---|---:|---:|---:|---:|---:|---:|---:|');
      log(`| read+write baseline (all ${maxLayers} layers' bytes) | ${maxLayers} | ${copy.seconds.toFixed(2)} | 1.00 | ${copy.cpuSeconds.toFixed(2)} | 1.00 | ${copy.maxRssMB.toFixed(0)} | – |`);
      for (const job of values.jobs!.split(',').filter(Boolean)) {
        const l = job === 'ties16' ? tiesLayers : layers;
        const r = runChild(job, dir, dtype, l);
        // Baseline scaled to the bytes the job reads (ties: its modules only).
        const tiesShare = job === 'ties16' ? tiesByteShare(values['ties-include']!) : 1;
        const baseline = copy.seconds * (l / maxLayers) * tiesShare;
        const cpuBaseline = copy.cpuSeconds * (l / maxLayers) * tiesShare;
        log(`| ${job} | ${l} | ${r.seconds.toFixed(2)} | ${(r.seconds / baseline).toFixed(1)} | ${r.cpuSeconds.toFixed(2)} | ${(r.cpuSeconds / cpuBaseline).toFixed(1)} | ${r.maxRssMB.toFixed(0)} | ${r.meanRelErr?.toExponential(3) ?? '–'} |`);
      }
      log('');
    }
    log('## Factored svd vs numpy densify + full SVD (one module, 4 inputs, rank 16 → 16)');
    log('');
    log('| shape | ours: svd merge kernel, one module (s) | numpy densify + SVD (s) | speed-up |');
    log('|---|---:|---:|---:|');
    for (const shape of values['dense-shapes']!.split(',').filter(Boolean)) {
      const [m, n] = shape.split('x').map(Number) as [number, number];
      const ours = await factoredSvdSeconds(m, n);
      const py = spawnSync('python3', ['bench/baselines/merge_dense_svd.py', '--shapes', shape, '--inputs', String(INPUTS), '--rank', String(RANK), '--k', '16'], { encoding: 'utf8' });
      const dense = py.status === 0 ? (JSON.parse(py.stdout.trim()) as { totalSeconds: number }).totalSeconds : NaN;
      log(`| ${m}×${n} | ${ours.toFixed(3)} | ${Number.isNaN(dense) ? 'n/a (numpy missing)' : dense.toFixed(2)} | ${Number.isNaN(dense) ? '–' : `${(dense / ours).toFixed(0)}×`} |`);
    }
    log('');
    log('Machine: 2 shared cores, other jobs running; numbers are indicative. Reproduce with `node bin/run-ts.js bench/merge/merge-bench.ts --layers 2`.');
  } finally {
    if (!keep) await rm(dir, { recursive: true, force: true });
  }
  if (values.out) await writeFile(values.out, `${lines.join('\n')}\n`);
}

await main();

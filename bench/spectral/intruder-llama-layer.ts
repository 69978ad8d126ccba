// Intruder analysis of one Llama-2-7B-shaped layer (q,k,v,o 4096×4096; gate/up 11008×4096;
// down 4096×11008), synthetic base with a decaying spectrum, rank-16 adapter: our route
// (top-k of W0 + s·B·A as an operator, certified partial basis, quadrature bound, full SVD
// only when needed) against the paper's full-SVD route in numpy, in the same run, on the
// same matrices: module by module (ours, then numpy on that module), so that each row is a
// same-run pair and --write-results rewrites the results after every module. Counts must be
// identical.
//
// usage: node bin/run-ts.js bench/spectral/intruder-llama-layer.ts [--divide 4] [--modules q_proj,gate_proj]
//          [--dir DIR (reuse generated matrices)] [--k 10] [--eps 0.5] [--backend auto|ts|wasm|…] [--write-results]
//          [--baseline JSON (iteration only)] [--skip-warm] [--ours-only]
// --divide N shrinks every dimension by N so that the run fits a small machine; the full layer
// (--divide 1) takes ~15 min here, mostly numpy (run it under `nice`).
// --backend: where W0 is kept for the iterative products (default: the automatic choice, as `awb analyze`).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { scanModuleIntruders, type ModuleIntruderResult } from '../../src/diagnostics/intruder-scan.ts';
import { diskBasisCache } from '../../src/diagnostics/base-basis.ts';
import type { Mat } from '../../src/tensor/matrix.ts';
import { TOOL_VERSION } from '../../src/version.ts';
import { selectBackend } from '../../src/compute/select-backend.ts';
import { diagnosticsBackendLine } from '../../src/diagnostics/analyze.ts';

const { values } = parseArgs({
  options: {
    divide: { type: 'string', default: '4' },
    modules: { type: 'string', default: 'q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj' },
    dir: { type: 'string' },
    k: { type: 'string', default: '10' },
    eps: { type: 'string', default: '0.5' },
    backend: { type: 'string', default: 'auto' },
    baseline: { type: 'string' },
    'skip-warm': { type: 'boolean', default: false },
    'ours-only': { type: 'boolean', default: false },
    'write-results': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(`usage: node bin/run-ts.js bench/spectral/intruder-llama-layer.ts [options]
  --divide N        shrink every Llama-2-7B dimension by N (default 4)
  --modules LIST    comma-separated short names (default: all seven)
  --dir DIR         reuse matrices generated earlier (make-llama-layer.py output)
  --k K             top-k tuned vectors (default 10)
  --eps LIST        thresholds decided exactly (default 0.5)
  --backend NAME    compute backend holding W0: auto (default), ts, wasm, cpu, webgpu, tensorflow
  --baseline FILE   reuse the JSON of an earlier baseline run (iteration only: published numbers
                    must come from one run where both sides ran; --write-results refuses this)
  --skip-warm       skip the second-adapter (cached base) run
  --ours-only       stop after our side (profiling)
  --write-results   write bench/results/spectral.md`);
  process.exit(0);
}
const { backend } = await selectBackend({ backend: values.backend! });
console.log(`backend: ${diagnosticsBackendLine(backend)}`);
const k = Number(values.k);
const epsilons = values.eps!.split(',').map(Number);

/** Reads a little-endian float32 C-order .npy file into a Mat (f64). */
function readNpy(path: string): Mat {
  const bytes = readFileSync(path);
  if (bytes.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${path}: not a .npy file`);
  const major = bytes[6]!;
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLength;
  const header = bytes.toString('latin1', major === 1 ? 10 : 12, start);
  if (!header.includes("'<f4'") || header.includes("'fortran_order': True")) throw new Error(`${path}: expected <f4 C order: ${header}`);
  const shape = /'shape': \((\d+), (\d+)\)/.exec(header);
  if (!shape) throw new Error(`${path}: cannot read shape from ${header}`);
  const rows = Number(shape[1]);
  const cols = Number(shape[2]);
  const f32 = new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + rows * cols * 4));
  return { rows, cols, data: Float64Array.from(f32) };
}

let dir = values.dir;
if (!dir) {
  dir = mkdtempSync(join(tmpdir(), 'awb-bench-spectral-'));
  const t = performance.now();
  const gen = spawnSync('python3', ['bench/spectral/make-llama-layer.py', dir, '--divide', values.divide!, '--modules', values.modules!], { stdio: 'inherit' });
  if (gen.status !== 0) throw new Error('generator failed');
  console.log(`generated matrices in ${((performance.now() - t) / 1000).toFixed(1)} s → ${dir}`);
}
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
  divide: number;
  rank: number;
  modules: { name: string; short: string; m: number; n: number; scale: number }[];
};
const wanted = new Set(values.modules!.split(','));
// In the order given (results are written after each module, so the first ones matter most).
const modules = [...wanted].map((short) => manifest.modules.find((m) => m.short === short)).filter((m) => m !== undefined);

interface BaselineModule {
  name: string;
  counts: Record<string, number>;
  maxCos: number[];
  baseSvdSeconds: number;
  tunedSvdSeconds: number;
}
interface Row {
  name: string;
  shape: string;
  ours: ModuleIntruderResult;
  oursSeconds: number;
  warmSeconds: number;
  ref: BaselineModule;
}
if (values.baseline && values['write-results']) throw new Error('--write-results needs the baseline measured in the same run (drop --baseline)');
let numpyVersion = '?';
const reused = values.baseline ? (JSON.parse(readFileSync(values.baseline, 'utf8')) as { numpy: string; modules: BaselineModule[] }) : undefined;
if (reused) {
  console.log(`reusing the baseline of an earlier run: ${values.baseline}`);
  numpyVersion = reused.numpy;
}
let baselineWall = 0;
/** The numpy full-SVD route on one module, run right after ours on the same matrices (same run). */
function baselineFor(short: string, name: string): BaselineModule {
  if (reused) {
    const hit = reused.modules.find((m) => m.name === name);
    if (!hit) throw new Error(`baseline has no module ${name}`);
    return hit;
  }
  const tb = performance.now();
  const base = spawnSync('python3', ['bench/baselines/intruder_full_svd.py', dir!, '--k', String(k), '--eps', epsilons.join(','), '--modules', short], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (base.status !== 0) throw new Error(`baseline failed: ${base.stderr}`);
  baselineWall += (performance.now() - tb) / 1000;
  const parsed = JSON.parse(base.stdout) as { numpy: string; modules: BaselineModule[] };
  numpyVersion = parsed.numpy;
  return parsed.modules[0]!;
}

const rows: Row[] = [];
for (const mod of modules) {
  const W0 = readNpy(join(dir, `${mod.short}.W0.npy`));
  const B = readNpy(join(dir, `${mod.short}.B.npy`));
  const A = readNpy(join(dir, `${mod.short}.A.npy`));
  // The on-disk cache `awb analyze` uses, in a folder of its own per module.
  const cacheDir = mkdtempSync(join(tmpdir(), 'awb-bench-spectral-cache-'));
  const options = { k, epsilons, sweep: [], seed: 42, cache: diskBasisCache(cacheDir), baseKey: mod.short, backend };
  // The second adapter's copy of the base weight is made before the clocks start (reading inputs is
  // outside both sides' timings; numpy loads its matrices before its timer too).
  const W0again: Mat | undefined = values['skip-warm'] ? undefined : { ...W0, data: W0.data.slice() };
  const t0 = performance.now();
  const ours = await scanModuleIntruders(W0, B, A, mod.scale, options);
  const t1 = performance.now();
  // Second adapter on the same base, as a later `awb analyze` run sees it: the base weight read
  // again (a new array, so no compact copies carry over) and the base spectrum and range
  // projector read from the disk cache by a new cache object (nothing in memory).
  if (W0again) await scanModuleIntruders(W0again, B, A, mod.scale, { ...options, cache: diskBasisCache(cacheDir), seed: 43 });
  const t2 = performance.now();
  rmSync(cacheDir, { recursive: true, force: true });
  const routes = ours.vectors.map((v) => v.route[0]).join('');
  console.log(
    `${mod.short.padEnd(10)} ${`${mod.m}×${mod.n}`.padEnd(11)} ours ${((t1 - t0) / 1000).toFixed(2)} s (warm ${((t2 - t1) / 1000).toFixed(2)} s), counts ${ours.counts.map((c) => c.intruders).join('/')}, routes ${routes}, basis ${ours.base.basisSize}${ours.base.fullSvd ? ' (full)' : ''}, tuned iterations ${ours.tunedIterations}, Lanczos steps ${ours.quadratureSteps}`,
  );
  if (values['ours-only']) continue;
  const ref = baselineFor(mod.short, mod.name);
  console.log(`${mod.short.padEnd(10)} numpy ${(ref.baseSvdSeconds + ref.tunedSvdSeconds).toFixed(2)} s (base SVD ${ref.baseSvdSeconds.toFixed(2)} s, tuned SVD ${ref.tunedSvdSeconds.toFixed(2)} s), counts ${epsilons.map((e) => ref.counts[String(e)]).join('/')}`);
  rows.push({ name: mod.name, shape: `${mod.m}×${mod.n}`, ours, oursSeconds: (t1 - t0) / 1000, warmSeconds: (t2 - t1) / 1000, ref });
  report(rows.length === modules.length);
}

function report(final: boolean): void {
  let identical = true;
  let oursTotal = 0;
  let warmTotal = 0;
  let numpyTotal = 0;
  let numpyTunedOnly = 0;
  let decidedWithoutFull = 0;
  let vectors = 0;
  const table: string[] = [];
  for (const row of rows) {
    const ref = row.ref;
    const ourCounts = row.ours.counts.map((c) => c.intruders);
    const refCounts = epsilons.map((e) => ref.counts[String(e)]!);
    const same = ourCounts.every((c, i) => c === refCounts[i]);
    identical &&= same;
    const numpySeconds = ref.baseSvdSeconds + ref.tunedSvdSeconds;
    oursTotal += row.oursSeconds;
    warmTotal += row.warmSeconds;
    numpyTotal += numpySeconds;
    numpyTunedOnly += ref.tunedSvdSeconds;
    const noFull = row.ours.vectors.filter((v) => v.route !== 'full-svd').length;
    decidedWithoutFull += noFull;
    vectors += row.ours.vectors.length;
    table.push(
      `| ${row.name} | ${row.shape} | ${refCounts.join('/')} | ${ourCounts.join('/')} ${same ? '✓' : '✗'} | ${numpySeconds.toFixed(2)} | ${row.oursSeconds.toFixed(2)} | ${(numpySeconds / row.oursSeconds).toFixed(2)}× | ${row.warmSeconds.toFixed(2)} | ${(numpySeconds / row.warmSeconds).toFixed(2)}× | ${noFull}/${row.ours.vectors.length} |`,
    );
  }
  const summary = [
    `counts identical to numpy: ${identical ? 'yes' : 'NO'}`,
    `numpy full-SVD route: ${numpyTotal.toFixed(2)} s (of which tuned SVDs ${numpyTunedOnly.toFixed(2)} s; process wall ${baselineWall.toFixed(1)} s)`,
    `ours, first adapter (base work included): ${oursTotal.toFixed(2)} s → ratio ${(numpyTotal / oursTotal).toFixed(2)}×`,
    `ours, second adapter (base spectrum and projector read from the disk cache, base weight read again): ${warmTotal.toFixed(2)} s → ratio ${(numpyTotal / warmTotal).toFixed(2)}× vs the full route, ${(numpyTunedOnly / warmTotal).toFixed(2)}× vs numpy's tuned SVDs alone`,
    `tuned vectors decided without a full SVD of W0: ${decidedWithoutFull}/${vectors} (${((100 * decidedWithoutFull) / Math.max(1, vectors)).toFixed(0)}%)`,
  ];
  if (final) for (const line of summary) console.log(line);
  if (!values['write-results']) return;
  const done = rows.map((r) => r.name.split('.').at(-1)).join(',');
  const md = [
    '# Spectral diagnostics benchmark (intruder dimensions)',
    '',
    `Run: \`node bin/run-ts.js bench/spectral/intruder-llama-layer.ts --divide ${manifest.divide} --dir DIR --modules ${[...wanted].join(',')} --write-results\`` +
      (final ? '' : ` — **partial: ${rows.length} of ${modules.length} modules done (${done})**`),
    `Machine: ${cpus().length} CPU(s) (${cpus()[0]?.model ?? 'unknown'}); Node ${process.version}; numpy ${numpyVersion}; ${TOOL_VERSION}.`,
    `Layer: Llama-2-7B shapes divided by ${manifest.divide}; base W0 = U·diag(σ)·Vᵀ with σ_i = 0.3 + 2.3·(1 − i/p) + 8·0.7^i; adapter rank ${manifest.rank}, scale 4; k = ${k}, ε = ${epsilons.join(', ')}, seed 42.`,
    "Baseline: bench/baselines/intruder_full_svd.py — numpy (LAPACK) thin SVD of W0 and of W0 + s·B·A, max |cos| over all base vectors (the paper's code path), run right after ours on each module, on the same float32 matrices (both sides compute in float64).",
    'Ours: src/diagnostics/intruder-scan.ts — top-k of W0 + s·B·A by block Krylov on the operator (no dense W_ft), base side decided by the certified partial basis, then the Christoffel/Gauss-quadrature bound (tall modules: on the projection onto range(W0)), full SVD only for what stays undecided.',
    `Compute backend for the iterative products with W0: ${diagnosticsBackendLine(backend)}.`,
    '',
    '| module | shape | numpy counts | our counts | numpy s | ours s | ratio | ours, cached base s | ratio cached | decided w/o full SVD |',
    '|---|---|---|---|---:|---:|---:|---:|---:|---:|',
    ...table,
    '',
    ...summary.map((s) => `- ${s}`),
    '',
  ].join('\n');
  writeFileSync('bench/results/spectral.md', md);
  console.log(`wrote bench/results/spectral.md (${rows.length}/${modules.length} modules)`);
}
if (!existsSync(dir)) throw new Error('unreachable');

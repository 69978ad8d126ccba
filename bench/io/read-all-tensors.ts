// Opening a safetensors file and reading + decoding every tensor, against plain fs read
// throughput of the same file measured in the same run (ratio = our time / fs time).
//   node bin/run-ts.js bench/io/read-all-tensors.ts [--mb 200] [--reps 3]
// Two synthetic files (half F32, half BF16) in os.tmpdir(), deleted afterwards: a 200 MB
// checkpoint-like file of 64 large tensors, and a LoRA-like file of 4,000 small tensors
// (per-tensor overhead; safetensors issue #361 reports Python being slow on such files).
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { createRng } from '../../src/util/rng.ts';
import { openSafetensors } from '../../src/safetensors/reader.ts';
import { writeSafetensors, type TensorToWrite } from '../../src/safetensors/writer.ts';
import { TOOL_VERSION } from '../../src/version.ts';

const SEED = 7;
const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const totalMb = flag('mb', 200);
const reps = flag('reps', 5);
const FS_CHUNK = 16 * 1024 * 1024;

function syntheticTensors(count: number, mb: number): TensorToWrite[] {
  const rng = createRng(SEED);
  const bytesEach = Math.floor((mb * 1e6) / count / 1024) * 1024; // whole rows of 256 F32 values
  const out: TensorToWrite[] = [];
  for (let i = 0; i < count; i++) {
    const dtype = i % 2 === 0 ? 'F32' : 'BF16';
    const bytes = new Uint8Array(bytesEach);
    const words = new Uint32Array(bytes.buffer);
    for (let j = 0; j < words.length; j++) words[j] = (rng.next() * 0x3f000000 + 0x3a000000) >>> 0; // finite, mid-range floats
    const elements = bytesEach / (dtype === 'F32' ? 4 : 2);
    out.push({ name: `layers.${i}.weight`, dtype, shape: [elements / 256, 256], bytes });
  }
  return out;
}

/** Sequential reads of the whole file into one reused buffer: what the disk/page cache gives. */
async function fsReadAll(path: string): Promise<number> {
  const handle = await open(path, 'r');
  const buffer = new Uint8Array(FS_CHUNK);
  let total = 0;
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, FS_CHUNK, total);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return total;
}

async function readAll(path: string, mode: 'bytes' | 'f32' | 'f64'): Promise<number> {
  const file = await openSafetensors(path);
  let checksum = 0;
  try {
    for (const name of file.tensors.keys()) {
      const data = mode === 'bytes' ? await file.readBytes(name) : mode === 'f32' ? await file.readFloat32(name) : await file.readFloat64(name);
      checksum += data[data.length - 1] ?? 0;
    }
  } finally {
    await file.close();
  }
  return checksum;
}

async function openOnly(path: string): Promise<number> {
  const file = await openSafetensors(path);
  await file.close();
  return file.tensors.size;
}

async function time(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function scenario(title: string, count: number, mb: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'awb-bench-io-'));
  const path = join(dir, 'synthetic.safetensors');
  try {
    const tensors = syntheticTensors(count, mb);
    await writeSafetensors(path, tensors);
    const fileBytes = tensors.reduce((n, t) => n + t.bytes.byteLength, 0);
    tensors.length = 0;
    await fsReadAll(path); // warm the page cache so both sides read from memory
    const rows: Record<string, number[]> = { fs: [], readFile: [], open: [], bytes: [], f32: [], f64: [] };
    for (let r = 0; r < reps; r++) {
      rows.fs!.push(await time(() => fsReadAll(path)));
      rows.readFile!.push(await time(() => readFile(path)));
      rows.open!.push(await time(() => openOnly(path)));
      rows.bytes!.push(await time(() => readAll(path, 'bytes')));
      rows.f32!.push(await time(() => readAll(path, 'f32')));
      rows.f64!.push(await time(() => readAll(path, 'f64')));
    }
    const fsMs = median(rows.fs!);
    const readFileMs = median(rows.readFile!);
    const mbps = (ms: number): string => (fileBytes / 1e6 / (ms / 1000)).toFixed(0);
    console.log(`\n### ${title}: ${(fileBytes / 1e6).toFixed(1)} MB of tensor data, ${count} tensors (half F32, half BF16), warm page cache, median of ${reps}\n`);
    console.log('| operation | median ms | MB/s | ratio vs fs read (reused buffer) | ratio vs fs.readFile (fresh buffer) |');
    console.log('|---|---|---|---|---|');
    const label: Record<string, string> = {
      fs: 'baseline: fs sequential read (16 MiB chunks, one reused buffer)',
      readFile: 'baseline: fs.readFile of the whole file (fresh buffer)',
      open: 'openSafetensors (header only)',
      bytes: 'open + readBytes of every tensor',
      f32: 'open + readFloat32 of every tensor (BF16 decoded)',
      f64: 'open + readFloat64 of every tensor (F32/BF16 decoded)',
    };
    for (const [key, times] of Object.entries(rows)) {
      const ms = median(times);
      console.log(`| ${label[key]} | ${ms.toFixed(1)} | ${key === 'open' ? '—' : mbps(ms)} | ${(ms / fsMs).toFixed(2)}× | ${(ms / readFileMs).toFixed(2)}× |`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

console.log(`adapter-workbench ${TOOL_VERSION}, Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), backend: node fs (CPU), seed ${SEED}`);
await scenario('Checkpoint-like', 64, totalMb);
await scenario('LoRA-like', 4000, totalMb / 5);

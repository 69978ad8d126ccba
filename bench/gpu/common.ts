// Helpers shared by the GPU checks: backend loading, random matrices, timing.
import { cpus, loadavg } from 'node:os';
import type { Backend } from '../../src/compute/backend.ts';
import { selectBackend } from '../../src/compute/select-backend.ts';
import type { Mat } from '../../src/tensor/matrix.ts';
import { createRng } from '../../src/util/rng.ts';
import { TOOL_VERSION } from '../../src/version.ts';

export function machineLine(): string {
  return `${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}, load ${loadavg()[0]!.toFixed(2)}, awb ${TOOL_VERSION}`;
}

/** Loads each named backend that this machine offers; prints why the others are skipped. */
export async function loadBackends(names: readonly string[]): Promise<Backend[]> {
  const out: Backend[] = [];
  for (const name of names) {
    try {
      const { backend } = await selectBackend({ backend: name, env: {} });
      out.push(backend);
      console.log(`backend ${name}: ${backend.description.device}, ${backend.description.version}`);
    } catch (error) {
      console.log(`backend ${name}: skipped — ${(error as Error).message}`);
    }
  }
  return out;
}

export function gaussian(rows: number, cols: number, seed: number, scale = 1): Mat {
  const rng = createRng(seed);
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal() * scale;
  return { rows, cols, data };
}

export async function timeOnce<T>(fn: () => Promise<T> | T): Promise<{ ms: number; result: T }> {
  const t = performance.now();
  const result = await fn();
  return { ms: performance.now() - t, result };
}

export function relativeFrobenius(x: Mat, ref: Mat): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.data.length; i++) {
    num += (x.data[i]! - ref.data[i]!) ** 2;
    den += ref.data[i]! ** 2;
  }
  return Math.sqrt(num / Math.max(den, Number.MIN_VALUE));
}

export function maxRelative(x: Float64Array, ref: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(x[i]! - ref[i]!) / Math.max(Math.abs(ref[i]!), Number.MIN_VALUE));
  return worst;
}

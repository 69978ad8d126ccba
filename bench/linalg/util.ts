// Shared helpers of the linalg benches: timing, the numpy baseline runner, machine line.
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { TOOL_VERSION } from '../../src/version.ts';

export const BASELINE_SCRIPT = fileURLToPath(new URL('../baselines/dense_svd.py', import.meta.url));

export function machineLine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpu}, ${cpus().length} cores, Node ${process.version}, load average ${loadavg()[0]!.toFixed(2)}, awb ${TOOL_VERSION}`;
}

/** Best of `reps` runs (after one warm-up when warmup is true), in ms. */
export async function bestOf<T>(reps: number, fn: () => T | Promise<T>, warmup = true): Promise<{ ms: number; all: number[]; result: T }> {
  let result = warmup ? await fn() : (undefined as T);
  const all: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    result = await fn();
    all.push(performance.now() - t);
  }
  return { ms: Math.min(...all), all, result };
}

/** Runs the numpy baseline; undefined (with a printed note) when python3 or numpy is missing or --no-baseline is given. */
export function runNumpyBaseline(mode: string, folder: string): Record<string, unknown> | undefined {
  if (process.argv.includes('--no-baseline')) {
    console.log('NOTE: numpy baseline skipped (--no-baseline)');
    return undefined;
  }
  const probe = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    console.log(`NOTE: numpy baseline skipped: python3 with numpy is not available (${(probe.stderr || String(probe.error ?? '')).trim().split('\n').pop()})`);
    return undefined;
  }
  const run = spawnSync('python3', [BASELINE_SCRIPT, mode, folder], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) {
    console.log(`NOTE: numpy baseline failed (exit ${run.status}): ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    return undefined;
  }
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

// What a job worker does, per kind. This file is the single plug between the
// job system and the library's merge (src/merge) and diagnostics
// (src/diagnostics, src/report) entry points.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { JOB_THREAD_NICE } from '../limits.ts';
import { join } from 'node:path';
import { WorkbenchError, isWorkbenchError, throwIfAborted } from '../../src/errors.ts';
import type { TaskContext } from '../../src/compute/worker-protocol.ts';
import { HttpError, toProblem } from '../errors.ts';
import type { JobProgressDto, ProblemDto } from '../dto.ts';
import type { WorkerInput, WorkerMessage } from './worker-protocol.ts';

type Post = (message: WorkerMessage) => void;

async function importModule(path: string, what: string): Promise<Record<string, unknown>> {
  try {
    return (await import(path)) as Record<string, unknown>;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') {
      throw new HttpError('ENGINE_UNAVAILABLE', `${what} is not available in this build`, { module: path.replace(/^(\.\.\/)+/, '') });
    }
    throw error;
  }
}

function fn<T>(mod: Record<string, unknown>, name: string, what: string): T {
  const f = mod[name];
  if (typeof f !== 'function') throw new HttpError('ENGINE_UNAVAILABLE', `${what}: ${name} is not exported`, { export: name });
  return f as T;
}

/** Turns one library progress event (MergeEvent / AnalyzeEvent) into the wire form. */
export function toProgress(event: unknown, fallbackPhase: string): JobProgressDto | undefined {
  if (event === null || typeof event !== 'object') return undefined;
  const e = event as Record<string, unknown>;
  if (e.type === 'start' && typeof e.totalModules === 'number') return { phase: 'start', step: 0, of: e.totalModules };
  if (e.type === 'module' && typeof e.index === 'number' && typeof e.total === 'number') {
    const phase = typeof e.phase === 'string' ? e.phase : fallbackPhase;
    const out: { phase: string; step: number; of: number; module?: string; message?: string } = {
      phase: phase === 'done' ? fallbackPhase : phase,
      step: e.index + (phase === 'done' ? 1 : 0),
      of: e.total,
    };
    if (typeof e.module === 'string') out.module = typeof e.adapter === 'string' ? `${e.adapter}: ${e.module}` : e.module;
    return out;
  }
  if (e.type === 'write') return { phase: 'write', step: 0, of: 1 };
  if (e.type === 'phase' && typeof e.phase === 'string') return { phase: e.phase, step: 0, of: 1 };
  if (typeof e.step === 'number' && typeof e.of === 'number') {
    return { phase: typeof e.phase === 'string' ? e.phase : fallbackPhase, step: e.step, of: e.of };
  }
  return undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Drains a progress generator, posting progress; returns the generator's return value. */
async function drive(
  gen: AsyncGenerator<unknown, unknown, unknown>,
  phase: string,
  input: WorkerInput,
  signal: AbortSignal,
  post: Post,
): Promise<unknown> {
  for (;;) {
    throwIfAborted(signal, `job ${input.jobId}`);
    const next = await gen.next();
    if (next.done) return next.value;
    const progress = toProgress(next.value, phase);
    if (progress) post({ type: 'progress', progress });
    const ev = next.value as { type?: string; level?: string; message?: string } | null;
    if (ev && (ev.type === 'log' || ev.type === 'warning') && typeof ev.message === 'string') {
      post({ type: 'log', level: ev.type === 'warning' ? 'warn' : 'info', message: ev.message });
    }
    if (input.stepDelayMs > 0) await sleep(input.stepDelayMs);
  }
}

async function runMerge(input: WorkerInput, signal: AbortSignal, post: Post): Promise<Record<string, unknown>> {
  const planMod = await importModule('../../src/merge/plan-merge.ts', 'the merge planner');
  const execMod = await importModule('../../src/merge/execute-merge.ts', 'the merge executor');
  const planMerge = fn<(recipe: unknown) => unknown>(planMod, 'planMerge', 'src/merge/plan-merge.ts');
  const executeMerge = fn<(plan: unknown, options: unknown) => AsyncGenerator<unknown, unknown, unknown>>(execMod, 'executeMerge', 'src/merge/execute-merge.ts');
  post({ type: 'progress', progress: { phase: 'plan', step: 0, of: 1 } });
  const plan = planMerge(input.payload.recipe);
  throwIfAborted(signal, `job ${input.jobId}`);
  await drive(executeMerge(plan, { signal, outDir: input.outDir }), 'merge', input, signal, post);
  // Reports name inputs by server id, never by the data dir's absolute paths.
  const labels = (input.payload.labels ?? {}) as Record<string, string>;
  const reportPath = join(input.outDir, 'merge-report.json');
  let text = await readFile(reportPath, 'utf8');
  for (const [path, label] of Object.entries(labels)) text = text.split(path).join(label);
  await writeFile(reportPath, text);
  const report = JSON.parse(text) as Record<string, unknown>;
  const pick = (key: string): unknown => report[key] ?? null;
  return {
    schema: pick('schema'),
    method: pick('method'),
    params: pick('params'),
    seed: pick('seed'),
    planSha256: pick('planSha256'),
    backend: pick('backend'),
    tool: pick('tool'),
    moduleCount: Array.isArray(report.modules) ? report.modules.length : null,
    warnings: Array.isArray(report.warnings) ? report.warnings.slice(0, 20) : [],
  };
}

async function runAnalysis(input: WorkerInput, signal: AbortSignal, post: Post): Promise<Record<string, unknown>> {
  const analyzeMod = await importModule('../../src/diagnostics/analyze.ts', 'the diagnostics');
  const analyze = fn<(options: unknown) => AsyncGenerator<unknown, unknown, unknown>>(analyzeMod, 'analyze', 'src/diagnostics/analyze.ts');
  const p = input.payload as {
    adapters: string[];
    base?: string;
    seed?: number;
    options?: Record<string, unknown>;
    cacheDir?: string;
    merged?: string;
    mergeReport?: string;
  };
  await mkdir(input.outDir, { recursive: true });
  const options: Record<string, unknown> = { ...(p.options ?? {}), adapters: p.adapters, signal, cacheDir: p.cacheDir ?? null };
  if (p.base !== undefined) options.base = p.base;
  if (p.seed !== undefined) options.seed = p.seed;
  if (p.merged !== undefined) options.merged = p.merged;
  if (p.mergeReport !== undefined) options.mergeReport = p.mergeReport;
  let report = await drive(
    analyze(options),
    'analyze',
    input,
    signal,
    post,
  );
  if (report === null || typeof report !== 'object') {
    throw new WorkbenchError('INTERNAL', 'the analysis finished without a report');
  }
  // Reports name inputs by server id, never by the data dir's absolute paths.
  let text = JSON.stringify(report);
  for (const [path, label] of Object.entries((input.payload.labels ?? {}) as Record<string, string>)) {
    text = text.split(JSON.stringify(path).slice(1, -1)).join(label);
  }
  report = JSON.parse(text) as unknown;
  const jsonMod = await importModule('../../src/report/render-json.ts', 'the report JSON renderer').catch(() => undefined);
  const renderJson = jsonMod?.renderJson as ((r: unknown) => string) | undefined;
  await writeFile(join(input.outDir, 'report.json'), renderJson ? renderJson(report) : `${JSON.stringify(report, null, 2)}\n`, { flag: 'wx' });
  for (const [file, exportName, modPath] of [
    ['report.html', 'renderHtml', '../../src/report/render-html.ts'],
    ['report.md', 'renderMarkdown', '../../src/report/render-markdown.ts'],
  ] as const) {
    try {
      const mod = await importModule(modPath, `the ${file} renderer`);
      const render = fn<(r: unknown) => string | Promise<string>>(mod, exportName, modPath);
      await writeFile(join(input.outDir, file), await render(report), { flag: 'wx' });
    } catch (error) {
      if (error instanceof HttpError && error.code === 'ENGINE_UNAVAILABLE') {
        post({ type: 'log', level: 'warn', message: `${file} not produced: ${error.message}` });
        continue;
      }
      throw error;
    }
  }
  const r = report as Record<string, unknown>;
  return { kind: 'analysis', version: r.version ?? null, adapters: p.adapters.length };
}

export async function executeJob(input: WorkerInput, signal: AbortSignal, post: Post): Promise<Record<string, unknown>> {
  switch (input.kind) {
    case 'merge':
      return runMerge(input, signal, post);
    case 'analysis':
      return runAnalysis(input, signal, post);
  }
}

let priorityLowered = false;

/**
 * Linux schedules threads individually: renice this worker thread (found through /proc/thread-self)
 * so that merges yield the CPU to the HTTP event loop under contention. Best effort, once per thread.
 */
function lowerThreadPriority(): void {
  if (priorityLowered || process.platform !== 'linux') return;
  priorityLowered = true;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, JOB_THREAD_NICE);
  } catch {
    // Not permitted or not available: run at normal priority.
  }
}

/** What a pool task returns: failures travel as values so server codes (HttpError) survive the thread hop. */
export type JobTaskResult =
  | { readonly ok: true; readonly summary: Record<string, unknown> }
  | { readonly ok: false; readonly problem: ProblemDto; readonly permanent: boolean };

/** The worker-pool task (src/compute/worker-pool.ts runs it in a worker thread). */
export async function runJobTask(input: WorkerInput, ctx: TaskContext): Promise<JobTaskResult> {
  lowerThreadPriority();
  try {
    const summary = await executeJob(input, ctx.signal, (message) => ctx.progress(message));
    return { ok: true, summary };
  } catch (error) {
    if (ctx.signal.aborted) throw error; // the pool reports ABORTED
    const { body, expected } = toProblem(error);
    if (!expected) console.error(`[job ${input.jobId}] internal error:`, error);
    const permanent = isWorkbenchError(error) ? error.permanent : error instanceof HttpError;
    return { ok: false, problem: body, permanent };
  }
}

// The job runner: claims jobs under a lease, runs each on the compute worker
// pool (src/compute/worker-pool.ts: worker threads, so the HTTP loop stays
// free), renews the lease, forwards cancellation through an AbortSignal,
// throttles progress writes, and commits the output folder into the object
// store only on success.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BlobStore } from '../storage/blob-store.ts';
import type { JobProgressDto, JobResultDto, ProblemDto } from '../dto.ts';
import { toProblem } from '../errors.ts';
import { fromFsError, isWorkbenchError } from '../../src/errors.ts';
import { createWorkerPool } from '../../src/compute/worker-pool.ts';
import type { WorkerPool } from '../../src/compute/worker-pool.ts';
import type { JobQueue, JobRecord } from './queue.ts';
import { ownerName } from './sqlite-queue.ts';
import type { WorkerInput, WorkerMessage } from './worker-protocol.ts';
import type { JobTaskResult } from './execute-job.ts';

export interface RunnerOptions {
  readonly queue: JobQueue;
  readonly blobs: BlobStore;
  /** Resolves adapter/base ids in the request to object folders (throws NOT_FOUND when gone). */
  readonly resolvePayload: (job: JobRecord) => Record<string, unknown>;
  /** Jobs run at once in this process. */
  readonly concurrency: number;
  /** A shared pool; by default the runner makes one with `concurrency` threads. */
  readonly pool?: WorkerPool;
  readonly leaseMs?: number;
  readonly heartbeatMs?: number;
  readonly pollMs?: number;
  /** After a cancel, how long the worker may take to stop before it is terminated. */
  readonly cancelGraceMs?: number;
  /** Progress writes per job are at most one per this interval. */
  readonly progressIntervalMs?: number;
  /** Test hook: the worker sleeps this long after each progress event. */
  readonly stepDelayMs?: number;
  readonly log?: (line: string) => void;
}

interface Running {
  readonly job: JobRecord;
  readonly owner: string;
  readonly controller: AbortController;
  cancelRequested: boolean;
  readonly done: Promise<void>;
}

type Outcome =
  | { readonly kind: 'done'; readonly summary: Record<string, unknown> }
  | { readonly kind: 'error'; readonly problem: ProblemDto; readonly permanent: boolean }
  | { readonly kind: 'lost' };

const TASK_MODULE = fileURLToPath(new URL('./execute-job.ts', import.meta.url));

/** Young generation of job workers in MB (≈ 3 semispaces of 1 MB, the flag bin/awb.js gives heavy CLI commands). */
const JOB_WORKER_LIMITS = { maxYoungGenerationSizeMb: 3 };

export class JobRunner {
  private readonly running = new Map<string, Running>();
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private readonly leaseMs: number;
  private readonly heartbeatMs: number;
  private readonly pollMs: number;
  private readonly progressMs: number;
  private readonly tag = randomBytes(4).toString('hex');
  private poolInstance: WorkerPool | undefined;

  constructor(private readonly options: RunnerOptions) {
    this.leaseMs = options.leaseMs ?? 30_000;
    this.heartbeatMs = options.heartbeatMs ?? Math.min(10_000, Math.floor(this.leaseMs / 3));
    this.pollMs = options.pollMs ?? 500;
    this.progressMs = options.progressIntervalMs ?? 250;
  }

  get active(): number {
    return this.running.size;
  }

  private get pool(): WorkerPool {
    this.poolInstance ??=
      this.options.pool ??
      createWorkerPool({
        size: Math.max(1, this.options.concurrency),
        abortGraceMs: this.options.cancelGraceMs ?? 5_000,
        // Jobs stream tensors through reused buffers: a small young generation (as bin/awb.js gives
        // `awb merge`) keeps a merge's peak memory near its working set.
        resourceLimits: JOB_WORKER_LIMITS,
      });
    return this.poolInstance;
  }

  /** Starts polling for queued jobs (SQLite backend). */
  start(): void {
    if (this.timer || this.options.concurrency <= 0) return;
    const tick = (): void => {
      this.timer = undefined;
      if (this.stopping) return;
      try {
        this.pump();
      } catch (error) {
        this.options.log?.(`runner: claim failed: ${String(error)}`);
      } finally {
        if (!this.stopping) this.timer = setTimeout(tick, this.pollMs);
      }
    };
    this.timer = setTimeout(tick, 0);
  }

  /** Claims as many jobs as there are free slots. */
  pump(): void {
    while (!this.stopping && this.options.concurrency > 0 && this.running.size < this.options.concurrency) {
      const owner = ownerName(this.tag);
      const job = this.options.queue.claim(owner, this.leaseMs);
      if (!job) return;
      void this.run(job, owner);
    }
  }

  /** Cancels a job running in this process at once (the queue flag is set by the caller). */
  notifyCancel(jobId: string): void {
    const r = this.running.get(jobId);
    if (r && !r.cancelRequested) {
      r.cancelRequested = true;
      r.controller.abort();
    }
  }

  /** Runs one claimed job to its end. Used by the poll loop and by the BullMQ processor. */
  run(job: JobRecord, owner: string, externalSignal?: AbortSignal): Promise<void> {
    const { queue, blobs } = this.options;
    const log = this.options.log ?? (() => {});
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    const controller = new AbortController();
    const entry: Running = { job, owner, controller, cancelRequested: false, done };
    this.running.set(job.id, entry);

    void (async () => {
      let staging: string | undefined;
      let settled = false;
      let lastProgressAt = 0;
      let pendingProgress: JobProgressDto | undefined;
      let progressTimer: NodeJS.Timeout | undefined;
      const flushProgress = (): void => {
        if (progressTimer) clearTimeout(progressTimer);
        progressTimer = undefined;
        if (!pendingProgress) return;
        const p = pendingProgress;
        pendingProgress = undefined;
        lastProgressAt = Date.now();
        queue.setProgress(job.id, owner, p);
        queue.appendEvent(job.id, { type: 'progress', progress: p });
      };
      const onMessage = (value: unknown): void => {
        if (settled) return;
        const message = value as WorkerMessage;
        if (message?.type === 'progress') {
          pendingProgress = message.progress;
          if (Date.now() - lastProgressAt >= this.progressMs) flushProgress();
          else progressTimer ??= setTimeout(flushProgress, this.progressMs);
        } else if (message?.type === 'log') {
          queue.appendEvent(job.id, { type: 'log', level: message.level, message: message.message });
        }
      };
      let lost = false;
      const heartbeat = setInterval(() => {
        if (settled || this.stopping) return;
        if (!queue.heartbeat(job.id, owner, this.leaseMs)) {
          log(`job ${job.id}: lease lost; stopping its worker without publishing`);
          lost = true;
          controller.abort();
          return;
        }
        if (!entry.cancelRequested && queue.get(job.id)?.cancelRequested) this.notifyCancel(job.id);
      }, Math.min(this.heartbeatMs, 250));
      heartbeat.unref();
      const onExternalAbort = (): void => this.notifyCancel(job.id);
      externalSignal?.addEventListener('abort', onExternalAbort, { once: true });

      let outcome: Outcome;
      try {
        staging = await blobs.stage();
        const input: WorkerInput = {
          jobId: job.id,
          kind: job.kind,
          payload: this.options.resolvePayload(job),
          outDir: join(staging, 'out'),
          stepDelayMs: this.options.stepDelayMs ?? 0,
        };
        const result = await this.pool.run<JobTaskResult>(
          { module: TASK_MODULE, fn: 'runJobTask', args: input },
          { signal: controller.signal, onProgress: onMessage },
        );
        outcome = result.ok ? { kind: 'done', summary: result.summary } : { kind: 'error', problem: result.problem, permanent: result.permanent };
      } catch (error) {
        outcome = { kind: 'error', problem: toProblem(error).body, permanent: isWorkbenchError(error) ? error.permanent : true };
      }
      if (lost) outcome = { kind: 'lost' };
      settled = true;
      clearInterval(heartbeat);
      externalSignal?.removeEventListener('abort', onExternalAbort);
      flushProgress();
      const cancelled = entry.cancelRequested || queue.get(job.id)?.cancelRequested === true;
      try {
        if (outcome.kind === 'done' && !cancelled && staging) {
          let committed;
          try {
            committed = await blobs.commit(join(staging, 'out'));
          } catch (error) {
            throw isWorkbenchError(error) ? error : fromFsError(error, 'output', 'publish the job output');
          }
          await blobs.discard(staging).catch(() => {});
          const result = this.resultFor(job, committed.hash, outcome.summary);
          if (!queue.complete(job.id, owner, result, committed.hash)) log(`job ${job.id}: finished, but its lease was lost; result ignored`);
        } else if (outcome.kind === 'lost') {
          // Another runner owns the job now.
        } else if (cancelled) {
          queue.markCancelled(job.id, owner);
        } else if (outcome.kind === 'error') {
          queue.fail(job.id, owner, outcome.problem, !outcome.permanent);
        }
      } catch (error) {
        queue.fail(job.id, owner, toProblem(error).body, isWorkbenchError(error) ? !error.permanent : false);
      } finally {
        if (staging) await blobs.discard(staging).catch(() => {});
        this.running.delete(job.id);
        resolveDone();
        if (!this.stopping) setImmediate(() => this.pump());
      }
    })();
    return done;
  }

  private resultFor(job: JobRecord, hash: string, summary: Record<string, unknown>): JobResultDto {
    return job.kind === 'merge'
      ? { downloadUrl: `/api/merges/${job.id}/download`, reportUrl: `/api/reports/${job.id}`, outputHash: hash, summary }
      : { downloadUrl: null, reportUrl: `/api/reports/${job.id}`, outputHash: hash, summary };
  }

  /** Stops claiming; running jobs are stopped and go back to queued (no attempt used). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    const waits: Promise<void>[] = [];
    for (const entry of this.running.values()) {
      this.options.queue.release(entry.job.id, entry.owner);
      entry.controller.abort();
      waits.push(entry.done);
    }
    await Promise.all(waits);
    if (this.poolInstance && !this.options.pool) await this.poolInstance.close();
  }
}

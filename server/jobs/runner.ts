// The job runner: claims jobs under a lease, runs each in a worker thread,
// renews the lease, forwards cancellation, throttles progress writes, and
// commits the output folder into the object store only on success.
import { Worker } from 'node:worker_threads';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { BlobStore } from '../storage/blob-store.ts';
import type { JobProgressDto, JobResultDto, ProblemDto } from '../dto.ts';
import { toProblem } from '../errors.ts';
import { fromFsError, isWorkbenchError } from '../../src/errors.ts';
import type { JobQueue, JobRecord } from './queue.ts';
import { ownerName } from './sqlite-queue.ts';
import type { WorkerInput, WorkerMessage } from './worker-protocol.ts';

export interface RunnerOptions {
  readonly queue: JobQueue;
  readonly blobs: BlobStore;
  /** Resolves adapter/base ids in the request to object folders (throws NOT_FOUND when gone). */
  readonly resolvePayload: (job: JobRecord) => Record<string, unknown>;
  /** Jobs run at once in this process. */
  readonly concurrency: number;
  readonly leaseMs?: number;
  readonly heartbeatMs?: number;
  readonly pollMs?: number;
  /** After a cancel, how long the worker may take to stop before terminate(). */
  readonly cancelGraceMs?: number;
  /** Progress writes per job are at most one per this interval. */
  readonly progressIntervalMs?: number;
  readonly stepDelayMs?: number;
  readonly log?: (line: string) => void;
}

interface Running {
  readonly job: JobRecord;
  readonly owner: string;
  readonly worker: Worker;
  cancelRequested: boolean;
  done: Promise<void>;
}

const WORKER_URL = new URL('./job-worker.mjs', import.meta.url);

export class JobRunner {
  private readonly running = new Map<string, Running>();
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private readonly leaseMs: number;
  private readonly heartbeatMs: number;
  private readonly pollMs: number;
  private readonly graceMs: number;
  private readonly progressMs: number;
  private readonly tag = randomBytes(4).toString('hex');

  constructor(private readonly options: RunnerOptions) {
    this.leaseMs = options.leaseMs ?? 30_000;
    this.heartbeatMs = options.heartbeatMs ?? Math.min(10_000, Math.floor(this.leaseMs / 3));
    this.pollMs = options.pollMs ?? 500;
    this.graceMs = options.cancelGraceMs ?? 5_000;
    this.progressMs = options.progressIntervalMs ?? 250;
  }

  get active(): number {
    return this.running.size;
  }

  /** Starts polling for queued jobs (SQLite backend). */
  start(): void {
    if (this.timer || this.options.concurrency <= 0) return;
    const tick = (): void => {
      this.timer = undefined;
      if (this.stopping) return;
      try {
        this.pump();
      } finally {
        if (!this.stopping) this.timer = setTimeout(tick, this.pollMs);
      }
    };
    this.timer = setTimeout(tick, 0);
  }

  /** Claims as many jobs as there are free slots. */
  pump(): void {
    while (!this.stopping && this.running.size < this.options.concurrency) {
      const owner = ownerName(this.tag);
      const job = this.options.queue.claim(owner, this.leaseMs);
      if (!job) return;
      void this.run(job, owner);
    }
  }

  /** Cancels a job running in this process at once (the queue flag is set by the caller). */
  notifyCancel(jobId: string): void {
    const r = this.running.get(jobId);
    if (r && !r.cancelRequested) this.beginCancel(r);
  }

  /** Runs one claimed job to its end. Used by the poll loop and by the BullMQ processor. */
  run(job: JobRecord, owner: string, externalSignal?: AbortSignal): Promise<void> {
    const { queue, blobs } = this.options;
    const log = this.options.log ?? (() => {});
    let staging: string | undefined;
    let settled = false;
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));

    const start = async (): Promise<void> => {
      let payload: Record<string, unknown>;
      try {
        staging = await blobs.stage();
        payload = this.options.resolvePayload(job);
      } catch (error) {
        if (staging) await blobs.discard(staging).catch(() => {});
        const problem = toProblem(error).body;
        queue.fail(job.id, owner, problem, false);
        resolveDone();
        return;
      }
      const input: WorkerInput = { jobId: job.id, kind: job.kind, payload, outDir: join(staging, 'out'), stepDelayMs: this.options.stepDelayMs ?? 0 };
      const worker = new Worker(WORKER_URL, { workerData: input, stdout: false, stderr: false });
      const entry: Running = { job, owner, worker, cancelRequested: false, done };
      this.running.set(job.id, entry);

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

      const heartbeat = setInterval(() => {
        if (settled) return;
        if (!queue.heartbeat(job.id, owner, this.leaseMs)) {
          // Someone else owns the job now (recovered after a stall): stop without publishing.
          log(`job ${job.id}: lease lost; stopping the worker`);
          void finish('lost', undefined);
          return;
        }
        const current = queue.get(job.id);
        if (current?.cancelRequested && !entry.cancelRequested) this.beginCancel(entry);
      }, Math.min(this.heartbeatMs, 250));
      heartbeat.unref();

      const onExternalAbort = (): void => {
        if (!entry.cancelRequested) this.beginCancel(entry);
      };
      externalSignal?.addEventListener('abort', onExternalAbort, { once: true });

      const finish = async (
        outcome: 'done' | 'error' | 'exit' | 'lost',
        message: WorkerMessage | undefined,
      ): Promise<void> => {
        if (settled) return;
        settled = true;
        clearInterval(heartbeat);
        externalSignal?.removeEventListener('abort', onExternalAbort);
        flushProgress();
        this.running.delete(job.id);
        await worker.terminate().catch(() => 0);
        const cancelled = entry.cancelRequested || queue.get(job.id)?.cancelRequested === true;
        try {
          if (outcome === 'lost') {
            await blobs.discard(staging as string);
          } else if (outcome === 'done' && message?.type === 'done' && !cancelled) {
            let committed;
            try {
              committed = await blobs.commit(join(staging as string, 'out'));
              await blobs.discard(staging as string);
            } catch (error) {
              await blobs.discard(staging as string).catch(() => {});
              throw isWorkbenchError(error) ? error : fromFsError(error, 'output', 'publish the job output');
            }
            const result = this.resultFor(job, committed.hash, message.summary);
            if (!queue.complete(job.id, owner, result, committed.hash)) log(`job ${job.id}: finished, but its lease was lost; result ignored`);
          } else {
            await blobs.discard(staging as string);
            if (cancelled) {
              queue.markCancelled(job.id, owner);
            } else if (message?.type === 'error') {
              queue.fail(job.id, owner, message.problem, !message.permanent);
            } else {
              const problem: ProblemDto = {
                code: 'JOB_CRASHED',
                message: 'the job worker exited without a result',
                details: { jobId: job.id },
              };
              queue.fail(job.id, owner, problem, true);
            }
          }
        } catch (error) {
          const problem = toProblem(error).body;
          queue.fail(job.id, owner, problem, isWorkbenchError(error) ? !error.permanent : false);
        } finally {
          resolveDone();
          if (!this.stopping) setImmediate(() => this.pump());
        }
      };

      worker.on('message', (message: WorkerMessage) => {
        if (settled) return;
        switch (message.type) {
          case 'progress':
            pendingProgress = message.progress;
            if (Date.now() - lastProgressAt >= this.progressMs) flushProgress();
            else progressTimer ??= setTimeout(flushProgress, this.progressMs);
            break;
          case 'log':
            queue.appendEvent(job.id, { type: 'log', level: message.level, message: message.message });
            break;
          case 'done':
          case 'error':
            void finish(message.type, message);
            break;
        }
      });
      worker.on('error', (error) => {
        log(`job ${job.id}: worker error: ${String(error)}`);
        void finish('exit', { type: 'error', problem: toProblem(error).body, permanent: false, aborted: false });
      });
      worker.on('exit', () => void finish('exit', undefined));
    };
    void start();
    return done;
  }

  private beginCancel(entry: Running): void {
    entry.cancelRequested = true;
    entry.worker.postMessage({ type: 'cancel' });
    const timer = setTimeout(() => void entry.worker.terminate(), this.graceMs);
    timer.unref();
  }

  private resultFor(job: JobRecord, hash: string, summary: Record<string, unknown>): JobResultDto {
    return job.kind === 'merge'
      ? { downloadUrl: `/api/merges/${job.id}/download`, reportUrl: `/api/reports/${job.id}`, outputHash: hash, summary }
      : { downloadUrl: null, reportUrl: `/api/reports/${job.id}`, outputHash: hash, summary };
  }

  /** Stops claiming; running jobs are cancelled cooperatively and go back to queued. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    const waits: Promise<void>[] = [];
    for (const entry of this.running.values()) {
      this.options.queue.release(entry.job.id, entry.owner);
      entry.worker.postMessage({ type: 'cancel' });
      void entry.worker.terminate();
      waits.push(entry.done);
    }
    await Promise.all(waits);
  }
}

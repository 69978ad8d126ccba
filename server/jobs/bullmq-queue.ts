// The Redis backend. Job records and their event log stay in SQLite on the
// shared data dir (so the API, SSE and recovery work the same); BullMQ carries
// dispatch to any number of `awb worker` processes, with its own stalled-job
// detection on top of our leases. Cancellation reaches a worker in another
// process through the shared job row, which the runner reads every heartbeat.
import { Queue, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import type { Db } from '../db/open-db.ts';
import { SqliteJobQueue, ownerName } from './sqlite-queue.ts';
import type { EnqueueInput, JobQueue, JobRecord, RecoveryReport } from './queue.ts';
import type { JobRunner } from './runner.ts';
import { randomBytes } from 'node:crypto';

export const BULLMQ_QUEUE_NAME = 'awb-jobs';

function connectionFrom(url: string): { host: string; port: number; password?: string; db?: number; maxRetriesPerRequest: null } {
  const u = new URL(url);
  const out: { host: string; port: number; password?: string; db?: number; maxRetriesPerRequest: null } = {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 6379),
    maxRetriesPerRequest: null,
  };
  if (u.password) out.password = decodeURIComponent(u.password);
  const db = Number(u.pathname.replace('/', ''));
  if (Number.isInteger(db) && db > 0) out.db = db;
  return out;
}

export class BullmqJobQueue extends SqliteJobQueue implements JobQueue {
  override readonly backend = 'bullmq' as const;

  private constructor(
    db: Db,
    private readonly bull: Queue,
    readonly prefix: string,
  ) {
    super(db);
  }

  /** prefix: Redis key prefix (tests use a fresh one per run). */
  static async connect(db: Db, url: string, prefix = 'awb'): Promise<BullmqJobQueue> {
    const bull = new Queue(BULLMQ_QUEUE_NAME, { connection: connectionFrom(url), prefix });
    await bull.waitUntilReady();
    return new BullmqJobQueue(db, bull, prefix);
  }

  private async dispatch(job: JobRecord): Promise<void> {
    // One BullMQ job per attempt: BullMQ dedups equal jobIds, so a re-queued job needs a new one.
    await this.bull.add('run', { jobId: job.id }, { jobId: `${job.id}-a${job.attempts}`, removeOnComplete: 1000, removeOnFail: 1000, attempts: 1 });
  }

  override async enqueue(input: EnqueueInput): Promise<{ job: JobRecord; existing: boolean }> {
    const out = this.enqueueRow(input);
    if (!out.existing) await this.dispatch(out.job);
    return out;
  }

  override fail(id: string, owner: string, error: Parameters<SqliteJobQueue['fail']>[2], retry: boolean): boolean {
    const ok = super.fail(id, owner, error, retry);
    const after = this.get(id);
    if (ok && after?.state === 'queued') void this.dispatch(after);
    return ok;
  }

  override release(id: string, owner: string): boolean {
    const ok = super.release(id, owner);
    const after = this.get(id);
    if (ok && after) void this.dispatch(after);
    return ok;
  }

  override recover(now?: number): RecoveryReport {
    const report = super.recover(now);
    for (const id of report.requeued) {
      const job = this.get(id);
      if (job) void this.dispatch(job);
    }
    return report;
  }

  async depth(): Promise<Record<string, number>> {
    return this.bull.getJobCounts('wait', 'active', 'delayed', 'failed', 'completed');
  }

  override async close(): Promise<void> {
    await super.close();
    await this.bull.close();
  }
}

/** Runs BullMQ jobs through the runner (worker threads, leases, commit-on-success). */
export async function startBullmqWorker(queue: JobQueue, runner: JobRunner, url: string, concurrency: number, prefix = 'awb'): Promise<{ close(): Promise<void> }> {
  const tag = randomBytes(4).toString('hex');
  const worker = new Worker(
    BULLMQ_QUEUE_NAME,
    async (bullJob: Job<{ jobId: string }>, _token?: string, signal?: AbortSignal) => {
      const jobId = bullJob.data.jobId;
      const owner = ownerName(tag);
      const record = queue.claim(owner, 30_000, jobId);
      if (!record) return { skipped: true };
      await runner.run(record, owner, signal);
      return { state: queue.get(jobId)?.state ?? 'unknown' };
    },
    { connection: connectionFrom(url), prefix, concurrency, lockDuration: 30_000, maxStalledCount: 1 },
  );
  await worker.waitUntilReady();
  return {
    async close() {
      await worker.close();
    },
  };
}

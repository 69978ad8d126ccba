// The job queue contract. Two backends implement it: SQLite (default, one
// file beside the blob store) and BullMQ on Redis (dispatch for `awb worker`
// processes). Job records and their event log live in SQLite in both cases;
// the backend decides how a job reaches a runner.
import type { JobEventDto, JobKind, JobProgressDto, JobResultDto, JobState, ProblemDto } from '../dto.ts';

export interface JobRecord {
  readonly id: string;
  readonly kind: JobKind;
  readonly state: JobState;
  readonly request: Record<string, unknown>;
  readonly requestHash: string;
  readonly inputs: readonly string[];
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly leaseOwner: string | null;
  readonly leaseUntil: number | null;
  readonly cancelRequested: boolean;
  readonly progress: JobProgressDto | null;
  readonly error: ProblemDto | null;
  readonly result: JobResultDto | null;
  readonly outputHash: string | null;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
}

export interface EnqueueInput {
  readonly kind: JobKind;
  readonly request: Record<string, unknown>;
  /** sha256 of the canonical request + input hashes + tool version. */
  readonly requestHash: string;
  readonly inputs: readonly string[];
  /** Client Idempotency-Key, or the request hash when none was sent. */
  readonly idempotencyKey: string;
  readonly maxAttempts?: number;
}

/** Payload of an event before the store gives it a sequence number and time. */
export type JobEventInput =
  | { readonly type: 'state'; readonly state: JobState }
  | { readonly type: 'progress'; readonly progress: JobProgressDto }
  | { readonly type: 'log'; readonly level: 'info' | 'warn' | 'error'; readonly message: string }
  | { readonly type: 'result'; readonly result: JobResultDto }
  | { readonly type: 'error'; readonly error: ProblemDto };

export interface RecoveryReport {
  readonly requeued: readonly string[];
  readonly failed: readonly string[];
}

export interface JobQueue {
  readonly backend: 'sqlite' | 'bullmq';
  /** Idempotent: the same key returns the existing job with `existing: true`. */
  enqueue(input: EnqueueInput): Promise<{ job: JobRecord; existing: boolean }>;
  get(id: string): JobRecord | undefined;
  list(limit: number): JobRecord[];
  /** Atomically takes the oldest queued job (or the given one) and leases it to `owner`. */
  claim(owner: string, leaseMs: number, jobId?: string): JobRecord | undefined;
  /** Extends the lease; false when the job is no longer ours (recovered, cancelled…). */
  heartbeat(id: string, owner: string, leaseMs: number): boolean;
  setProgress(id: string, owner: string, progress: JobProgressDto): void;
  appendEvent(id: string, event: JobEventInput): JobEventDto;
  events(id: string, afterSeq: number): JobEventDto[];
  /** queued → cancelled now; running → cancel_requested; finished → JOB_FINISHED. */
  requestCancel(id: string): Promise<JobRecord>;
  complete(id: string, owner: string, result: JobResultDto, outputHash: string): boolean;
  /** retry: back to queued if attempts remain, else failed. */
  fail(id: string, owner: string, error: ProblemDto, retry: boolean): boolean;
  markCancelled(id: string, owner: string): boolean;
  /** Graceful shutdown: the job goes back to queued without using up an attempt. */
  release(id: string, owner: string): boolean;
  /** Stale running jobs (expired lease, or owner process gone): re-queue once, then failed JOB_CRASHED. */
  recover(now?: number): RecoveryReport;
  counts(): { queued: number; running: number };
  isAdapterInUse(adapterId: string): boolean;
  /** In-process notification of appended events (SSE also polls, for other processes). */
  subscribe(listener: (jobId: string, event: JobEventDto) => void): () => void;
  close(): Promise<void>;
}

export const TERMINAL_STATES: ReadonlySet<JobState> = new Set(['succeeded', 'failed', 'cancelled']);

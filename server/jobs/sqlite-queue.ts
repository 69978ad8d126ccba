// The default queue: job rows in SQLite, claimed with one UPDATE … RETURNING
// under a lease, events appended to job_events for SSE resume.
import { hostname } from 'node:os';
import type { Db } from '../db/open-db.ts';
import type { JobEventDto, JobProgressDto, JobResultDto, ProblemDto } from '../dto.ts';
import { HttpError } from '../errors.ts';
import { newId } from '../ids.ts';
import { sha256Bytes } from '../../src/util/hash.ts';
import type { EnqueueInput, JobEventInput, JobQueue, JobRecord, RecoveryReport } from './queue.ts';

interface JobRow {
  id: string;
  kind: string;
  state: string;
  idempotency_key: string;
  request_json: string;
  request_hash: string;
  inputs_json: string;
  attempts: number;
  max_attempts: number;
  lease_owner: string | null;
  lease_until: number | null;
  cancel_requested: number;
  progress_json: string | null;
  error_json: string | null;
  result_json: string | null;
  output_hash: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

const HOST = sha256Bytes(hostname()).slice(0, 8);

/** Lease owner names: host:pid:random, so a restarted process can tell its dead predecessors. */
export function ownerName(tag: string): string {
  return `${HOST}:${process.pid}:${tag}`;
}

function ownerIsDeadHere(owner: string): boolean {
  const [host, pidText] = owner.split(':');
  if (host !== HOST) return false;
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as { code?: string }).code === 'ESRCH';
  }
}

function toRecord(row: JobRow): JobRecord {
  return {
    id: row.id,
    kind: row.kind as JobRecord['kind'],
    state: row.state as JobRecord['state'],
    request: JSON.parse(row.request_json) as Record<string, unknown>,
    requestHash: row.request_hash,
    inputs: JSON.parse(row.inputs_json) as string[],
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    leaseOwner: row.lease_owner,
    leaseUntil: row.lease_until,
    cancelRequested: row.cancel_requested === 1,
    progress: row.progress_json ? (JSON.parse(row.progress_json) as JobProgressDto) : null,
    error: row.error_json ? (JSON.parse(row.error_json) as ProblemDto) : null,
    result: row.result_json ? (JSON.parse(row.result_json) as JobResultDto) : null,
    outputHash: row.output_hash,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

export class SqliteJobQueue implements JobQueue {
  readonly backend: 'sqlite' | 'bullmq' = 'sqlite';
  private readonly listeners = new Set<(jobId: string, event: JobEventDto) => void>();

  constructor(protected readonly db: Db) {}

  async enqueue(input: EnqueueInput): Promise<{ job: JobRecord; existing: boolean }> {
    return this.enqueueRow(input);
  }

  protected enqueueRow(input: EnqueueInput): { job: JobRecord; existing: boolean } {
    const now = new Date().toISOString();
    const id = newId();
    const tx = this.db.transaction(() => {
      const found = this.db.prepare('SELECT * FROM jobs WHERE idempotency_key = ?').get(input.idempotencyKey) as JobRow | undefined;
      if (found) {
        if (found.request_hash !== input.requestHash) {
          throw new HttpError('IDEMPOTENCY_CONFLICT', 'this Idempotency-Key was already used for a different request', {
            jobId: found.id,
          });
        }
        return { job: toRecord(found), existing: true };
      }
      this.db
        .prepare(
          `INSERT INTO jobs (id, kind, state, idempotency_key, request_json, request_hash, inputs_json, max_attempts, created_at)
           VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?)`,
        )
        .run(id, input.kind, input.idempotencyKey, JSON.stringify(input.request), input.requestHash, JSON.stringify(input.inputs), input.maxAttempts ?? 2, now);
      const insertInput = this.db.prepare('INSERT OR IGNORE INTO job_inputs (job_id, adapter_id) VALUES (?, ?)');
      for (const adapterId of input.inputs) insertInput.run(id, adapterId);
      return { job: toRecord(this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow), existing: false };
    });
    const out = tx.immediate();
    if (!out.existing) this.appendEvent(out.job.id, { type: 'state', state: 'queued' });
    return out;
  }

  get(id: string): JobRecord | undefined {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    return row ? toRecord(row) : undefined;
  }

  list(limit: number): JobRecord[] {
    return (this.db.prepare('SELECT * FROM jobs ORDER BY created_at DESC, id DESC LIMIT ?').all(limit) as JobRow[]).map(toRecord);
  }

  claim(owner: string, leaseMs: number, jobId?: string): JobRecord | undefined {
    const now = Date.now();
    const row = this.db
      .prepare(
        `UPDATE jobs SET state = 'running', lease_owner = ?, lease_until = ?, attempts = attempts + 1,
           started_at = COALESCE(started_at, ?)
         WHERE id = (SELECT id FROM jobs WHERE state = 'queued' AND cancel_requested = 0 ${jobId ? 'AND id = ?' : ''}
                     ORDER BY created_at, id LIMIT 1)
         RETURNING *`,
      )
      .get(...(jobId ? [owner, now + leaseMs, new Date(now).toISOString(), jobId] : [owner, now + leaseMs, new Date(now).toISOString()])) as
      | JobRow
      | undefined;
    if (!row) return undefined;
    this.appendEvent(row.id, { type: 'state', state: 'running' });
    return toRecord(row);
  }

  heartbeat(id: string, owner: string, leaseMs: number): boolean {
    const info = this.db
      .prepare(`UPDATE jobs SET lease_until = ? WHERE id = ? AND lease_owner = ? AND state = 'running'`)
      .run(Date.now() + leaseMs, id, owner);
    return info.changes === 1;
  }

  setProgress(id: string, owner: string, progress: JobProgressDto): void {
    this.db.prepare(`UPDATE jobs SET progress_json = ? WHERE id = ? AND lease_owner = ? AND state = 'running'`).run(JSON.stringify(progress), id, owner);
  }

  appendEvent(id: string, event: JobEventInput): JobEventDto {
    const at = new Date().toISOString();
    const dto = this.db.transaction(() => {
      const last = this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM job_events WHERE job_id = ?').get(id) as { seq: number };
      const full = { ...event, seq: last.seq + 1, at } as JobEventDto;
      this.db.prepare('INSERT INTO job_events (job_id, seq, type, data_json) VALUES (?, ?, ?, ?)').run(id, full.seq, full.type, JSON.stringify(full));
      return full;
    })();
    for (const listener of this.listeners) listener(id, dto);
    return dto;
  }

  events(id: string, afterSeq: number): JobEventDto[] {
    return (this.db.prepare('SELECT data_json FROM job_events WHERE job_id = ? AND seq > ? ORDER BY seq').all(id, afterSeq) as { data_json: string }[]).map(
      (r) => JSON.parse(r.data_json) as JobEventDto,
    );
  }

  async requestCancel(id: string): Promise<JobRecord> {
    const job = this.get(id);
    if (!job) throw new HttpError('NOT_FOUND', `no job with id ${JSON.stringify(id)}`, { kind: 'job', id });
    if (job.state === 'succeeded' || job.state === 'failed' || job.state === 'cancelled') {
      throw new HttpError('JOB_FINISHED', `job ${id} already finished (${job.state}); nothing to cancel`, { id, state: job.state });
    }
    const now = new Date().toISOString();
    const queuedInfo = this.db
      .prepare(`UPDATE jobs SET state = 'cancelled', cancel_requested = 1, finished_at = ? WHERE id = ? AND state = 'queued'`)
      .run(now, id);
    if (queuedInfo.changes === 1) {
      this.appendEvent(id, { type: 'state', state: 'cancelled' });
    } else {
      this.db.prepare(`UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND state = 'running'`).run(id);
      this.appendEvent(id, { type: 'log', level: 'info', message: 'cancellation requested' });
    }
    return this.get(id) as JobRecord;
  }

  complete(id: string, owner: string, result: JobResultDto, outputHash: string): boolean {
    const info = this.db
      .prepare(
        `UPDATE jobs SET state = 'succeeded', result_json = ?, output_hash = ?, finished_at = ?, lease_owner = NULL, lease_until = NULL
         WHERE id = ? AND lease_owner = ? AND state = 'running'`,
      )
      .run(JSON.stringify(result), outputHash, new Date().toISOString(), id, owner);
    if (info.changes !== 1) return false;
    this.appendEvent(id, { type: 'result', result });
    this.appendEvent(id, { type: 'state', state: 'succeeded' });
    return true;
  }

  fail(id: string, owner: string, error: ProblemDto, retry: boolean): boolean {
    const job = this.get(id);
    if (!job || job.leaseOwner !== owner || job.state !== 'running') return false;
    if (retry && job.attempts < job.maxAttempts && !job.cancelRequested) {
      this.db.prepare(`UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL, error_json = ? WHERE id = ?`).run(JSON.stringify(error), id);
      this.appendEvent(id, { type: 'log', level: 'warn', message: `attempt ${job.attempts} failed (${error.code}); re-queued` });
      this.appendEvent(id, { type: 'state', state: 'queued' });
      return true;
    }
    this.db
      .prepare(`UPDATE jobs SET state = 'failed', error_json = ?, finished_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?`)
      .run(JSON.stringify(error), new Date().toISOString(), id);
    this.appendEvent(id, { type: 'error', error });
    this.appendEvent(id, { type: 'state', state: 'failed' });
    return true;
  }

  markCancelled(id: string, owner: string): boolean {
    const info = this.db
      .prepare(
        `UPDATE jobs SET state = 'cancelled', finished_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ? AND state = 'running'`,
      )
      .run(new Date().toISOString(), id, owner);
    if (info.changes === 1) this.appendEvent(id, { type: 'state', state: 'cancelled' });
    return info.changes === 1;
  }

  release(id: string, owner: string): boolean {
    const info = this.db
      .prepare(
        `UPDATE jobs SET state = 'queued', attempts = MAX(attempts - 1, 0), lease_owner = NULL, lease_until = NULL
         WHERE id = ? AND lease_owner = ? AND state = 'running'`,
      )
      .run(id, owner);
    if (info.changes === 1) this.appendEvent(id, { type: 'state', state: 'queued' });
    return info.changes === 1;
  }

  recover(now: number = Date.now()): RecoveryReport {
    const rows = this.db.prepare(`SELECT * FROM jobs WHERE state = 'running'`).all() as JobRow[];
    const requeued: string[] = [];
    const failed: string[] = [];
    for (const row of rows) {
      const expired = row.lease_until === null || row.lease_until < now;
      const orphaned = row.lease_owner !== null && ownerIsDeadHere(row.lease_owner);
      if (!expired && !orphaned) continue;
      if (row.cancel_requested === 1) {
        const info = this.db
          .prepare(`UPDATE jobs SET state = 'cancelled', finished_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = ? AND state = 'running' AND lease_owner IS ?`)
          .run(new Date(now).toISOString(), row.id, row.lease_owner);
        if (info.changes === 1) this.appendEvent(row.id, { type: 'state', state: 'cancelled' });
        continue;
      }
      if (row.attempts < row.max_attempts) {
        const info = this.db
          .prepare(`UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL WHERE id = ? AND state = 'running' AND lease_owner IS ?`)
          .run(row.id, row.lease_owner);
        if (info.changes === 1) {
          requeued.push(row.id);
          this.appendEvent(row.id, { type: 'log', level: 'warn', message: `the worker running attempt ${row.attempts} stopped without finishing; re-queued` });
          this.appendEvent(row.id, { type: 'state', state: 'queued' });
        }
      } else {
        const error: ProblemDto = {
          code: 'JOB_CRASHED',
          message: `the worker stopped without finishing, ${row.attempts} time(s); giving up after ${row.max_attempts} attempts`,
          details: { attempts: row.attempts, maxAttempts: row.max_attempts },
        };
        const info = this.db
          .prepare(
            `UPDATE jobs SET state = 'failed', error_json = ?, finished_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = ? AND state = 'running' AND lease_owner IS ?`,
          )
          .run(JSON.stringify(error), new Date(now).toISOString(), row.id, row.lease_owner);
        if (info.changes === 1) {
          failed.push(row.id);
          this.appendEvent(row.id, { type: 'error', error });
          this.appendEvent(row.id, { type: 'state', state: 'failed' });
        }
      }
    }
    return { requeued, failed };
  }

  counts(): { queued: number; running: number } {
    const rows = this.db.prepare(`SELECT state, COUNT(*) AS n FROM jobs WHERE state IN ('queued', 'running') GROUP BY state`).all() as {
      state: string;
      n: number;
    }[];
    return {
      queued: rows.find((r) => r.state === 'queued')?.n ?? 0,
      running: rows.find((r) => r.state === 'running')?.n ?? 0,
    };
  }

  isAdapterInUse(adapterId: string): boolean {
    const row = this.db
      .prepare(
        `SELECT 1 FROM job_inputs ji JOIN jobs j ON j.id = ji.job_id WHERE ji.adapter_id = ? AND j.state IN ('queued', 'running') LIMIT 1`,
      )
      .get(adapterId);
    return row !== undefined;
  }

  subscribe(listener: (jobId: string, event: JobEventDto) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}

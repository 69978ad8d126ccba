// One contract suite over both queue backends (the tfjs describeWithFlags
// idea): SQLite always; BullMQ on Redis when AWB_TEST_REDIS_URL is set (CI
// starts redis-server on 127.0.0.1:6390), otherwise skipped with the reason printed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openDb } from '../../server/db/open-db.ts';
import type { Db } from '../../server/db/open-db.ts';
import { SqliteJobQueue, ownerName } from '../../server/jobs/sqlite-queue.ts';
import type { JobQueue } from '../../server/jobs/queue.ts';
import { openServices } from '../../server/services.ts';
import { createApp } from '../../server/app.ts';
import { JobRunner } from '../../server/jobs/runner.ts';
import { FIXTURES, waitFor } from './harness.ts';
import type { JobDto } from '../../server/dto.ts';

const REDIS = process.env.AWB_TEST_REDIS_URL;
if (!REDIS) console.log('[queue-conformance] BullMQ backend skipped: set AWB_TEST_REDIS_URL (e.g. redis://127.0.0.1:6390) to run it');

type Factory = (db: Db) => Promise<JobQueue>;
const backends: [string, Factory | undefined][] = [
  ['sqlite', async (db) => new SqliteJobQueue(db)],
  [
    'bullmq',
    REDIS
      ? async (db) => {
          const { BullmqJobQueue } = await import('../../server/jobs/bullmq-queue.ts');
          return BullmqJobQueue.connect(db, REDIS, `awbtest-${randomBytes(4).toString('hex')}`);
        }
      : undefined,
  ],
];

const request1 = { kind: 'merge' as const, request: { method: 'linear' }, requestHash: 'h1', inputs: ['A1'], idempotencyKey: 'key-1' };

for (const [name, factory] of backends) {
  describe.skipIf(!factory)(`JobQueue contract: ${name}`, () => {
    let dir = '';
    let db: Db;
    let queue: JobQueue;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'awb-q-'));
      db = openDb(join(dir, 'q.sqlite'));
      queue = await factory!(db);
    });
    afterAll(async () => {
      await queue.close();
      db.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('enqueue is idempotent by key and refuses a different request under the same key', async () => {
      const first = await queue.enqueue(request1);
      const again = await queue.enqueue(request1);
      expect(first.existing).toBe(false);
      expect(again.existing).toBe(true);
      expect(again.job.id).toBe(first.job.id);
      await expect(queue.enqueue({ ...request1, requestHash: 'other' })).rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' });
      expect(queue.counts().queued).toBe(1);
      expect(queue.isAdapterInUse('A1')).toBe(true);
    });

    it('claim gives a job to one owner only; heartbeats renew only the owner’s lease', async () => {
      const owner = ownerName('t1');
      const job = queue.claim(owner, 10_000);
      expect(job?.state).toBe('running');
      expect(job?.attempts).toBe(1);
      expect(queue.claim(ownerName('t2'), 10_000)).toBeUndefined();
      expect(queue.heartbeat(job!.id, owner, 10_000)).toBe(true);
      expect(queue.heartbeat(job!.id, ownerName('t2'), 10_000)).toBe(false);
    });

    it('recover re-queues an expired lease once, then fails the job JOB_CRASHED', async () => {
      const job = queue.list(10)[0]!;
      const far = Date.now() + 60_000;
      expect(queue.recover(far).requeued).toEqual([job.id]);
      const again = queue.claim(ownerName('t3'), 10_000);
      expect(again?.id).toBe(job.id);
      expect(again?.attempts).toBe(2);
      expect(queue.recover(far + 60_000).failed).toEqual([job.id]);
      const dead = queue.get(job.id)!;
      expect(dead.state).toBe('failed');
      expect(dead.error?.code).toBe('JOB_CRASHED');
      expect(queue.isAdapterInUse('A1')).toBe(false);
      const events = queue.events(job.id, 0).map((e) => e.type === 'state' ? e.state : e.type);
      expect(events).toEqual(['queued', 'running', 'log', 'queued', 'running', 'error', 'failed']);
    });

    it('cancel: a queued job at once; a finished job → JOB_FINISHED', async () => {
      const { job } = await queue.enqueue({ ...request1, idempotencyKey: 'key-2', requestHash: 'h2' });
      expect((await queue.requestCancel(job.id)).state).toBe('cancelled');
      await expect(queue.requestCancel(job.id)).rejects.toMatchObject({ code: 'JOB_FINISHED' });
      expect(queue.claim(ownerName('t4'), 1000)).toBeUndefined();
    });

    it('release on shutdown puts a running job back without using an attempt', async () => {
      const { job } = await queue.enqueue({ ...request1, idempotencyKey: 'key-3', requestHash: 'h3' });
      const owner = ownerName('t5');
      expect(queue.claim(owner, 10_000)?.id).toBe(job.id);
      expect(queue.release(job.id, owner)).toBe(true);
      const back = queue.get(job.id)!;
      expect(back.state).toBe('queued');
      expect(back.attempts).toBe(0);
    });
  });
}

describe.skipIf(!REDIS)('BullMQ end to end: API enqueue, a worker process shape, result', () => {
  it('runs a merge dispatched through Redis', async () => {
    const { BullmqJobQueue, startBullmqWorker } = await import('../../server/jobs/bullmq-queue.ts');
    const dataDir = await mkdtemp(join(tmpdir(), 'awb-bull-'));
    const prefix = `awbtest-${randomBytes(4).toString('hex')}`;
    const services = await openServices({ dataDir, basesRoot: FIXTURES, makeQueue: (db) => BullmqJobQueue.connect(db, REDIS!, prefix) });
    const runner = new JobRunner({ queue: services.queue, blobs: services.blobs, resolvePayload: services.resolvePayload, concurrency: 1, log: () => {} });
    const worker = await startBullmqWorker(services.queue, runner, REDIS!, 1, prefix);
    try {
      const app = createApp({ services, webDist: null, log: () => {} });
      let req = request(app).post('/api/adapters');
      for (const f of await readdir(join(FIXTURES, 'adapters', 'llama-a'))) req = req.attach('files', join(FIXTURES, 'adapters', 'llama-a', f));
      const id = (await req).body.id as string;
      const sub = await request(app).post('/api/merges').send({ method: 'linear', inputs: [{ adapter: id, weight: 0.5 }] });
      expect(sub.status).toBe(202);
      const done = await waitFor(async () => (await request(app).get(`/api/jobs/${sub.body.jobId}`)).body as JobDto, (j) => j.state === 'succeeded' || j.state === 'failed', 60_000);
      expect(done.state).toBe('succeeded');
      expect((await request(app).get('/api/health')).body.queue.backend).toBe('bullmq');
    } finally {
      await worker.close();
      await runner.stop();
      await services.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

// Jobs: submit merges and analyses (idempotent), read state, stream events
// (SSE with Last-Event-ID resume and heartbeats), cancel, download results.
import { Router, json } from 'express';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import yazl from 'yazl';
import type { AppContext } from '../context.ts';
import { HttpError, notFound } from '../errors.ts';
import { ID_PATTERN } from '../ids.ts';
import { MAX_JOBS_LISTED, MAX_JSON_BODY, SSE_HEARTBEAT_MS } from '../limits.ts';
import { parseBody } from './validate.ts';
import { idParam } from './params.ts';
import { jobToDto } from '../jobs/job-dto.ts';
import { TERMINAL_STATES } from '../jobs/queue.ts';
import type { JobRecord } from '../jobs/queue.ts';
import type { JobCreatedDto, JobEventDto, JobKind } from '../dto.ts';
import { canonicalJson, sha256Bytes } from '../../src/util/hash.ts';
import { TOOL_VERSION } from '../../src/version.ts';
import { checkMergeRequest } from '../jobs/merge-recipe.ts';
import { OBJECT_FILE_NAME } from '../storage/blob-store.ts';

const AdapterId = z.string().regex(ID_PATTERN, 'must be an adapter id');
const BaseId = z.string().regex(ID_PATTERN, 'must be a base id');
const Seed = z.number().int().min(0).max(2 ** 32 - 1);

const MergeRequest = z.looseObject({
  method: z.string().min(1).max(64),
  inputs: z.array(z.looseObject({ adapter: AdapterId, weight: z.number().finite().optional() })).min(1).max(64),
  params: z.record(z.string(), z.unknown()).optional(),
  seed: Seed.optional(),
  output: z.record(z.string(), z.unknown()).optional(),
  base: BaseId.optional(),
});

/** The analysis options a request may set (src/diagnostics AnalyzeOptions, JSON-able subset). */
const AnalysisOptions = z.strictObject({
  k: z.number().int().min(1).max(10_000).optional(),
  epsilons: z.array(z.number().gt(0).max(1)).max(32).optional(),
  sweep: z.array(z.number().gt(0).max(1)).max(64).optional(),
  route: z.enum(['auto', 'full']).optional(),
  modules: z.array(z.string().min(1).max(200)).max(256).optional(),
});

const AnalysisRequest = z.strictObject({
  adapters: z.array(AdapterId).min(1).max(16),
  base: BaseId.optional(),
  seed: Seed.optional(),
  options: AnalysisOptions.optional(),
  merge: z.string().regex(ID_PATTERN, 'must be a merge job id').optional(),
});

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

function idempotencyHeader(req: Request): string | undefined {
  const raw = req.get('Idempotency-Key');
  if (raw === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(raw)) {
    throw new HttpError('VALIDATION_FAILED', 'Idempotency-Key must be 1–200 printable ASCII characters', { header: 'Idempotency-Key' });
  }
  return raw;
}

export function jobsRouter(ctx: AppContext): Router {
  const router = Router();
  const { adapters, bases, queue, blobs } = ctx.services;
  const body = json({ limit: MAX_JSON_BODY });

  const submit = async (req: Request, res: Response, kind: JobKind, request: Record<string, unknown>, inputs: string[], base: string | undefined): Promise<void> => {
    const clientKey = idempotencyHeader(req);
    const hashes = inputs.map((id) => adapters.get(id).contentHash);
    const baseHash = base === undefined ? null : bases.get(base).contentHash;
    const requestHash = sha256Bytes(canonicalJson({ kind, request, inputs: hashes, base: baseHash, version: TOOL_VERSION }));
    const { job, existing } = await queue.enqueue({
      kind,
      request,
      requestHash,
      inputs: [...new Set(inputs)],
      idempotencyKey: clientKey === undefined ? `content:${requestHash}` : `client:${clientKey}`,
    });
    if (!existing) ctx.runner?.pump();
    const out: JobCreatedDto = { jobId: job.id, job: jobToDto(job), existing };
    res.status(existing ? 200 : 202).location(`/api/jobs/${job.id}`).json(out);
  };

  router.post('/merges', body, async (req, res) => {
    const request = parseBody(MergeRequest, req.body);
    checkMergeRequest(request as Record<string, unknown>);
    const ids = request.inputs.map((i) => i.adapter);
    for (const id of ids) adapters.get(id);
    await submit(req, res, 'merge', request as Record<string, unknown>, ids, request.base);
  });

  router.post('/analyses', body, async (req, res) => {
    const request = parseBody(AnalysisRequest, req.body);
    for (const id of request.adapters) adapters.get(id);
    if (request.merge !== undefined) {
      const merge = queue.get(request.merge);
      if (!merge || merge.kind !== 'merge') throw notFound('merge job', request.merge);
      if (merge.state !== 'succeeded') {
        throw new HttpError('JOB_NOT_FINISHED', `merge job ${merge.id} has no output (state: ${merge.state})`, { id: merge.id, state: merge.state });
      }
    }
    await submit(req, res, 'analysis', request as Record<string, unknown>, request.adapters, request.base);
  });

  router.get('/jobs', (_req, res) => {
    res.json({ items: queue.list(MAX_JOBS_LISTED).map(jobToDto) });
  });

  const getJob = (req: Request, knownId?: string): JobRecord => {
    const id = knownId ?? idParam(req, 'job');
    const job = queue.get(id);
    if (!job) throw notFound('job', id);
    return job;
  };

  router.get('/jobs/:id', (req, res) => {
    res.json(jobToDto(getJob(req)));
  });

  router.post('/jobs/:id/cancel', async (req, res) => {
    const job = getJob(req);
    const after = await queue.requestCancel(job.id);
    ctx.runner?.notifyCancel(job.id);
    res.status(202).json(jobToDto(after));
  });

  router.get('/jobs/:id/events', (req, res) => {
    const job = getJob(req);
    const fromHeader = req.get('Last-Event-ID') ?? (typeof req.query.lastEventId === 'string' ? req.query.lastEventId : undefined);
    let lastSeq = fromHeader !== undefined && /^\d{1,9}$/.test(fromHeader) ? Number(fromHeader) : 0;
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.write('retry: 2000\n\n');
    let closed = false;
    const send = (event: JobEventDto): void => {
      if (closed || event.seq <= lastSeq) return;
      lastSeq = event.seq;
      res.write(`id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
      if (event.type === 'state' && TERMINAL_STATES.has(event.state)) end();
    };
    const drain = (): void => {
      if (closed) return;
      try {
        for (const e of queue.events(job.id, lastSeq)) send(e);
      } catch {
        // The store closed under us (shutdown): end the stream; the client reconnects.
        end();
      }
    };
    const unsubscribe = queue.subscribe((jobId, event) => {
      if (jobId !== job.id) return;
      // Events may arrive out of order relative to the poll; read from the store to keep seq order.
      if (event.seq === lastSeq + 1) send(event);
      else drain();
    });
    const heartbeat = setInterval(() => {
      if (!closed) res.write(': heartbeat\n\n');
    }, ctx.sseHeartbeatMs ?? SSE_HEARTBEAT_MS);
    const poll = setInterval(drain, ctx.ssePollMs ?? 1000);
    function end(): void {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      clearInterval(poll);
      unsubscribe();
      res.end();
    }
    req.on('close', end);
    drain();
    // A job that finished before this request may have its terminal event below lastSeq.
    const now = queue.get(job.id);
    if (now && TERMINAL_STATES.has(now.state) && !closed) {
      const tail = queue.events(job.id, 0).at(-1);
      if (tail && tail.seq <= lastSeq) end();
    }
  });

  const finishedOutput = (req: Request, kind?: JobKind, knownId?: string): { job: JobRecord; dir: string } => {
    const job = getJob(req, knownId);
    if (kind && job.kind !== kind) throw notFound(`${kind} job`, job.id);
    if (job.state !== 'succeeded' || !job.outputHash) {
      throw new HttpError('JOB_NOT_FINISHED', `job ${job.id} has no output (state: ${job.state})`, { id: job.id, state: job.state });
    }
    return { job, dir: blobs.pathOf(job.outputHash) };
  };

  router.get('/merges/:id/download', async (req, res) => {
    const { job, dir } = finishedOutput(req, 'merge');
    const names = (await readdir(dir)).filter((n) => OBJECT_FILE_NAME.test(n)).sort();
    const zip = new yazl.ZipFile();
    for (const name of names) zip.addFile(join(dir, name), `merge-${job.id}/${name}`);
    zip.end();
    res.setHeader('Content-Type', 'application/zip');
    res.setHeader('Content-Disposition', `attachment; filename="merge-${job.id}.zip"`);
    zip.outputStream.on('error', () => res.destroy());
    zip.outputStream.pipe(res);
  });

  router.get('/reports/:file', async (req, res) => {
    const match = /^([0-9A-HJKMNP-TV-Z]{26})(?:\.(json|html|md))?$/.exec(String(req.params.file));
    if (!match) throw notFound('report', String(req.params.file).slice(0, 64));
    const ext = match[2] ?? 'json';
    const { job, dir } = finishedOutput(req, undefined, match[1]);
    const base = job.kind === 'merge' ? 'merge-report' : 'report';
    const file = join(dir, `${base}.${ext}`);
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) {
      if (ext === 'json') throw notFound('report', job.id);
      throw new HttpError('NOT_FOUND', `the ${ext} rendering of report ${job.id} is not available`, { kind: 'report', id: job.id, format: ext });
    }
    if (ext === 'json') res.type('application/json').send(text);
    else if (ext === 'html') res.type('text/html').send(text);
    else res.type('text/markdown').send(text);
  });

  return router;
}

// Merges and analyses as jobs: submit (idempotent), watch over SSE with
// Last-Event-ID resume, download the zip, read the report, cancel, and the
// in-use rule for deleting inputs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FIXTURES, makeHarness, waitFor, type Harness } from './harness.ts';
import type { JobDto, JobEventDto } from '../../server/dto.ts';
import { parseSafetensors } from '../../src/safetensors/reader.ts';

let h: Harness;
let a = '';
let b = '';
let c = '';

async function upload(folder: string): Promise<string> {
  let req = request(h.app).post('/api/adapters');
  for (const file of (await readdir(folder)).sort()) req = req.attach('files', join(folder, file));
  const res = await req;
  expect(res.status).toBe(201);
  return res.body.id as string;
}

async function job(id: string): Promise<JobDto> {
  return (await request(h.app).get(`/api/jobs/${id}`)).body as JobDto;
}

function parseSse(text: string): JobEventDto[] {
  return text
    .split('\n\n')
    .map((block) => block.split('\n').find((l) => l.startsWith('data: ')))
    .filter((l): l is string => l !== undefined)
    .map((l) => JSON.parse(l.slice(6)) as JobEventDto);
}

/** Collects a zip's entry names from its central directory. */
function zipEntries(buf: Buffer): string[] {
  const names: string[] = [];
  for (let i = 0; i + 46 <= buf.length; i += 1) {
    if (buf.readUInt32LE(i) === 0x02014b50) {
      const n = buf.readUInt16LE(i + 28);
      const extra = buf.readUInt16LE(i + 30);
      const comment = buf.readUInt16LE(i + 32);
      names.push(buf.subarray(i + 46, i + 46 + n).toString('utf8'));
      i += 45 + n + extra + comment;
    }
  }
  return names;
}

beforeAll(async () => {
  h = await makeHarness({ runner: true });
  a = await upload(join(FIXTURES, 'adapters', 'llama-a'));
  b = await upload(join(FIXTURES, 'adapters', 'llama-b'));
  c = await upload(join(FIXTURES, 'adapters', 'llama-c'));
});
afterAll(async () => h.close());

describe('merge jobs', () => {
  it('runs a linear merge to completion, streams its events, and serves the zip and report', async () => {
    const body = { method: 'linear', inputs: [{ adapter: a, weight: 0.5 }, { adapter: b, weight: 0.5 }] };
    const res = await request(h.app).post('/api/merges').set('Idempotency-Key', 'merge-one').send(body);
    expect(res.status).toBe(202);
    const id = res.body.jobId as string;
    const sse = await request(h.app).get(`/api/jobs/${id}/events`).buffer(true).parse((r, cb) => {
      let text = '';
      r.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      r.on('end', () => cb(null, text));
    });
    expect(sse.headers['content-type']).toMatch(/text\/event-stream/);
    const events = parseSse(sse.body as string);
    const states = events.filter((e) => e.type === 'state').map((e) => (e as { state: string }).state);
    expect(states).toEqual(['queued', 'running', 'succeeded']);
    expect(events.some((e) => e.type === 'progress')).toBe(true);
    expect(events.some((e) => e.type === 'result')).toBe(true);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));

    // Resume after the second event: only the later ones come back.
    const resumed = await request(h.app).get(`/api/jobs/${id}/events`).set('Last-Event-ID', '2').buffer(true).parse((r, cb) => {
      let text = '';
      r.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      r.on('end', () => cb(null, text));
    });
    const later = parseSse(resumed.body as string);
    expect(later[0]?.seq).toBe(3);
    expect(later.length).toBe(events.length - 2);

    const done = await job(id);
    expect(done.state).toBe('succeeded');
    expect(done.result?.downloadUrl).toBe(`/api/merges/${id}/download`);
    const zip = await request(h.app).get(`/api/merges/${id}/download`).buffer(true).parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (chunk: Buffer) => chunks.push(chunk));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    expect(zip.status).toBe(200);
    expect(zip.headers['content-type']).toBe('application/zip');
    expect(zipEntries(zip.body as Buffer).sort()).toEqual([
      `merge-${id}/adapter_config.json`,
      `merge-${id}/adapter_model.safetensors`,
      `merge-${id}/merge-report.json`,
    ]);
    const report = await request(h.app).get(`/api/reports/${id}`);
    expect(report.status).toBe(200);
    expect(report.body.method).toBe('linear');
    expect(JSON.stringify(report.body)).not.toContain(h.dataDir);

    // The published weights: one LoRA pair per input module, readable by the library's reader.
    const objects = join(h.dataDir, 'objects', done.result!.outputHash);
    const { readFile } = await import('node:fs/promises');
    const st = parseSafetensors(new Uint8Array(await readFile(join(objects, 'adapter_model.safetensors'))));
    expect(st.tensors.size).toBeGreaterThan(0);
    expect(await h.tmpEntries()).toEqual([]);
  });

  it('honours Idempotency-Key: same body → same job (200), different body → 409', async () => {
    const body = { method: 'linear', inputs: [{ adapter: a }, { adapter: c }] };
    const first = await request(h.app).post('/api/merges').set('Idempotency-Key', 'k-2').send(body);
    expect(first.status).toBe(202);
    const second = await request(h.app).post('/api/merges').set('Idempotency-Key', 'k-2').send(body);
    expect(second.status).toBe(200);
    expect(second.body.jobId).toBe(first.body.jobId);
    expect(second.body.existing).toBe(true);
    const conflict = await request(h.app).post('/api/merges').set('Idempotency-Key', 'k-2').send({ ...body, seed: 7 });
    expect(conflict.status).toBe(409);
    expect(conflict.body.code).toBe('IDEMPOTENCY_CONFLICT');
    await waitFor(() => job(first.body.jobId), (j) => j.state === 'succeeded' || j.state === 'failed');
  });

  it('refuses bad recipes before enqueueing: unknown method, bad params, unknown adapter, bad JSON', async () => {
    const unknown = await request(h.app).post('/api/merges').send({ method: 'nope', inputs: [{ adapter: a }] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.code).toBe('MERGE_METHOD_UNKNOWN');
    expect(unknown.body.details.known).toContain('linear');
    const params = await request(h.app).post('/api/merges').send({ method: 'ties', params: { density: 1.5 }, inputs: [{ adapter: a }, { adapter: b }] });
    expect(params.status).toBe(400);
    expect(params.body.code).toBe('MERGE_PARAM_INVALID');
    const missing = await request(h.app).post('/api/merges').send({ method: 'linear', inputs: [{ adapter: '01ARZ3NDEKTSV4RRFFQ69G5FAV' }] });
    expect(missing.status).toBe(404);
    const shape = await request(h.app).post('/api/merges').send({ method: 'linear', inputs: [] });
    expect(shape.status).toBe(400);
    expect(shape.body.code).toBe('VALIDATION_FAILED');
    const bad = await request(h.app).post('/api/merges').set('Content-Type', 'application/json').send('{"method":');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('INVALID_JSON');
    const big = await request(h.app).post('/api/merges').send({ method: 'linear', inputs: [{ adapter: a }], pad: 'x'.repeat(300_000) });
    expect(big.status).toBe(413);
    expect(big.body.code).toBe('BODY_TOO_LARGE');
  });

  it('cancels a finished job with 409 and unknown jobs with 404', async () => {
    const list = await request(h.app).get('/api/jobs');
    const finished = (list.body.items as JobDto[]).find((j) => j.state === 'succeeded')!;
    const res = await request(h.app).post(`/api/jobs/${finished.id}/cancel`);
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('JOB_FINISHED');
    expect((await request(h.app).post('/api/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV/cancel')).status).toBe(404);
    expect((await request(h.app).get('/api/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV/events')).status).toBe(404);
    expect((await request(h.app).get('/api/merges/01ARZ3NDEKTSV4RRFFQ69G5FAV/download')).status).toBe(404);
    expect((await request(h.app).get('/api/reports/01ARZ3NDEKTSV4RRFFQ69G5FAV.html')).status).toBe(404);
  });
});

describe('queued jobs without a runner', () => {
  it('refuses to delete an adapter a queued job reads (409), and cancels the queued job at once', async () => {
    const idle = await makeHarness({ runner: false });
    try {
      let req = request(idle.app).post('/api/adapters');
      for (const f of ['adapter_config.json', 'adapter_model.safetensors']) req = req.attach('files', join(FIXTURES, 'adapters', 'llama-a', f));
      const id = (await req).body.id as string;
      const sub = await request(idle.app).post('/api/merges').send({ method: 'linear', inputs: [{ adapter: id }] });
      expect(sub.status).toBe(202);
      const del = await request(idle.app).delete(`/api/adapters/${id}`);
      expect(del.status).toBe(409);
      expect(del.body.code).toBe('ADAPTER_IN_USE');
      const download = await request(idle.app).get(`/api/merges/${sub.body.jobId}/download`);
      expect(download.status).toBe(409);
      expect(download.body.code).toBe('JOB_NOT_FINISHED');
      const cancel = await request(idle.app).post(`/api/jobs/${sub.body.jobId}/cancel`);
      expect(cancel.status).toBe(202);
      expect(cancel.body.state).toBe('cancelled');
      expect((await request(idle.app).delete(`/api/adapters/${id}`)).status).toBe(204);
      const health = await request(idle.app).get('/api/health');
      expect(health.body.queue).toEqual({ backend: 'sqlite', queued: 0, running: 0 });
    } finally {
      await idle.close();
    }
  });
});

describe('cancellation of a running merge', () => {
  it('stops the worker within a step and publishes nothing', async () => {
    const slow = await makeHarness({ runner: true, stepDelayMs: 400 });
    try {
      let req = request(slow.app).post('/api/adapters');
      for (const f of ['adapter_config.json', 'adapter_model.safetensors']) req = req.attach('files', join(FIXTURES, 'adapters', 'llama-b', f));
      const id = (await req).body.id as string;
      const objectsBefore = await slow.objectCount();
      const sub = await request(slow.app).post('/api/merges').send({ method: 'linear', inputs: [{ adapter: id, weight: 2 }] });
      const jobId = sub.body.jobId as string;
      await waitFor(
        async () => (await request(slow.app).get(`/api/jobs/${jobId}`)).body as JobDto,
        (j) => j.state === 'running' && j.progress !== null && j.progress.phase !== 'plan',
      );
      const cancel = await request(slow.app).post(`/api/jobs/${jobId}/cancel`);
      expect(cancel.status).toBe(202);
      const end = await waitFor(
        async () => (await request(slow.app).get(`/api/jobs/${jobId}`)).body as JobDto,
        (j) => j.state !== 'running',
        15_000,
      );
      expect(end.state).toBe('cancelled');
      expect(await slow.objectCount()).toBe(objectsBefore);
      await waitFor(() => slow.tmpEntries(), (e) => e.length === 0, 5000);
    } finally {
      await slow.close();
    }
  });
});

describe('analysis jobs', () => {
  it('runs diagnostics on two adapters and serves the report JSON', async () => {
    const res = await request(h.app).post('/api/analyses').send({ adapters: [a, b], seed: 1 });
    expect(res.status).toBe(202);
    const done = await waitFor(() => job(res.body.jobId), (j) => j.state === 'succeeded' || j.state === 'failed', 60_000);
    expect(done.error).toBeNull();
    expect(done.state).toBe('succeeded');
    const report = await request(h.app).get(`/api/reports/${res.body.jobId}`);
    expect(report.status).toBe(200);
    expect(typeof report.body).toBe('object');
    const html = await request(h.app).get(`/api/reports/${res.body.jobId}.html`);
    expect(html.status).toBe(200);
    expect(html.headers['content-type']).toMatch(/text\/html/);
    expect(html.text).toMatch(/<html/i);
    const md = await request(h.app).get(`/api/reports/${res.body.jobId}.md`);
    expect(md.status).toBe(200);
    expect(md.headers['content-type']).toMatch(/text\/markdown/);
    expect(md.text.length).toBeGreaterThan(20);
    expect(JSON.stringify(report.body)).not.toContain(h.dataDir);
    const bad = await request(h.app).post('/api/analyses').send({ adapters: [a], options: { k: 0 } });
    expect(bad.status).toBe(400);
  });

  it('analyses a merge against its inputs (retention), and refuses unknown or unfinished merges', async () => {
    const merge = ((await request(h.app).get('/api/jobs')).body.items as JobDto[]).find((j) => j.kind === 'merge' && j.state === 'succeeded' && j.inputs.length === 2 && j.inputs.includes(a) && j.inputs.includes(b))!;
    const res = await request(h.app).post('/api/analyses').send({ adapters: [a, b], merge: merge.id });
    expect(res.status).toBe(202);
    const done = await waitFor(() => job(res.body.jobId), (j) => j.state === 'succeeded' || j.state === 'failed', 60_000);
    expect(done.error).toBeNull();
    const report = await request(h.app).get(`/api/reports/${res.body.jobId}`);
    expect(JSON.stringify(report.body)).not.toContain(h.dataDir);
    const missing = await request(h.app).post('/api/analyses').send({ adapters: [a], merge: '01ARZ3NDEKTSV4RRFFQ69G5FAV' });
    expect(missing.status).toBe(404);
  });
});

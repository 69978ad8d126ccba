// Faults: disk full while storing an upload and while publishing a merge,
// a client that drops the connection mid-upload, and a server killed with
// SIGKILL mid-merge, then restarted.
import { afterAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES, REPO, makeHarness, waitFor } from './harness.ts';
import type { JobDto } from '../../server/dto.ts';

function enospc(): Error {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });
}

describe('disk full', () => {
  it('upload: 507 INSUFFICIENT_STORAGE, no staging file, no row', async () => {
    let full = false;
    const h = await makeHarness({ blobHooks: { beforeWrite: () => { if (full) throw enospc(); } } });
    try {
      full = true;
      const res = await request(h.app).post('/api/adapters').attach('f', join(FIXTURES, 'adapters', 'kohya-sample', 'kohya_lora.safetensors'));
      expect(res.status).toBe(507);
      expect(res.body.code).toBe('INSUFFICIENT_STORAGE');
      expect(await h.tmpEntries()).toEqual([]);
      expect(await h.objectCount()).toBe(0);
      expect((await request(h.app).get('/api/adapters')).body.items).toEqual([]);
      full = false;
      const ok = await request(h.app).post('/api/adapters').attach('f', join(FIXTURES, 'adapters', 'kohya-sample', 'kohya_lora.safetensors'));
      expect(ok.status).toBe(201);
    } finally {
      await h.close();
    }
  });

  it('upload: 507 when free space is below the declared size plus the reserve', async () => {
    const h = await makeHarness({ app: { freeBytes: async () => 1000 } });
    try {
      const res = await request(h.app).post('/api/adapters').attach('f', join(FIXTURES, 'adapters', 'kohya-sample', 'kohya_lora.safetensors'));
      expect(res.status).toBe(507);
      expect(await h.tmpEntries()).toEqual([]);
    } finally {
      await h.close();
    }
  });

  it('merge: publishing fails with transient DISK_FULL (retried once), nothing published', async () => {
    let full = false;
    const h = await makeHarness({ runner: true, blobHooks: { beforeWrite: () => { if (full) throw enospc(); } } });
    try {
      let req = request(h.app).post('/api/adapters');
      for (const f of ['adapter_config.json', 'adapter_model.safetensors']) req = req.attach('files', join(FIXTURES, 'adapters', 'llama-a', f));
      const id = (await req).body.id as string;
      const objects = await h.objectCount();
      full = true;
      const sub = await request(h.app).post('/api/merges').send({ method: 'linear', inputs: [{ adapter: id, weight: 3 }] });
      const end = await waitFor(
        async () => (await request(h.app).get(`/api/jobs/${sub.body.jobId}`)).body as JobDto,
        (j) => j.state === 'failed' || j.state === 'succeeded',
        60_000,
      );
      expect(end.state).toBe('failed');
      expect(end.error?.code).toBe('DISK_FULL');
      expect(end.attempts).toBe(2);
      expect(await h.objectCount()).toBe(objects);
      await waitFor(() => h.tmpEntries(), (e) => e.length === 0, 5000);
    } finally {
      await h.close();
    }
  });
});

describe('a client that drops the connection mid-upload', () => {
  it('leaves no staging file and no row, and the server keeps serving', async () => {
    const h = await makeHarness();
    const server = h.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const boundary = 'dropXYZ';
      const head = Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="a.safetensors"\r\nContent-Type: application/octet-stream\r\n\r\n`,
      );
      const file = await readFile(join(FIXTURES, 'real', 'gemma3-logo', 'adapter_model.safetensors'));
      const req = httpRequest({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/adapters',
        headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': String(head.length + file.length + 100) },
      });
      req.on('error', () => {});
      req.write(head);
      req.write(file.subarray(0, 200_000));
      await waitFor(() => h.tmpEntries(), (e) => e.length > 0, 10_000, 20);
      req.destroy();
      await waitFor(() => h.tmpEntries(), (e) => e.length === 0, 10_000, 50);
      const list = await request(server).get('/api/adapters');
      expect(list.status).toBe(200);
      expect(list.body.items).toEqual([]);
      expect(await h.objectCount()).toBe(0);
    } finally {
      server.close();
      await h.close();
    }
  });
});

// ---- kill -9 of a real `awb serve` mid-merge ----------------------------------------------

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

function startServer(dataDir: string, env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [join(REPO, 'bin', 'awb.js'), 'serve', '--data', dataDir, '--port', '0', '--no-build'], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 60_000);
    const onData = (chunk: Buffer): void => {
      out += chunk.toString('utf8');
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1] as string });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
  });
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  return (await res.json()) as T;
}

describe('SIGKILL mid-merge, then restart', () => {
  it('re-queues the job once by the lease rule, completes it, and never publishes a partial output', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'awb-kill-'));
    try {
      const first = await startServer(dataDir, { AWB_TEST_STEP_DELAY_MS: '250' });
      const adapters = (await getJson<{ items: { id: string; name: string }[] }>(`${first.url}/api/adapters`)).items;
      const a = adapters.find((x) => x.name === 'llama-a');
      const b = adapters.find((x) => x.name === 'llama-b');
      if (!a || !b) throw new Error(`samples llama-a/llama-b not registered; got ${adapters.map((x) => x.name).join(', ')}`);
      const objectsBefore = (await readdir(join(dataDir, 'objects'))).sort();
      const sub = await fetch(`${first.url}/api/merges`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ method: 'linear', inputs: [{ adapter: a.id }, { adapter: b.id }] }),
      });
      const subBody = (await sub.json()) as { jobId: string };
      expect(sub.status, JSON.stringify(subBody)).toBe(202);
      const jobId = subBody.jobId;
      await waitFor(
        () => getJson<JobDto>(`${first.url}/api/jobs/${jobId}`),
        (j) => j.state === 'running' && j.progress !== null && j.progress.phase === 'merge' && j.progress.step >= 1,
        60_000,
        50,
      );
      first.child.kill('SIGKILL');
      await new Promise((r) => first.child.once('exit', r));
      // Nothing was published while the merge ran.
      expect((await readdir(join(dataDir, 'objects'))).sort()).toEqual(objectsBefore);

      const second = await startServer(dataDir, {});
      const done = await waitFor(
        () => getJson<JobDto>(`${second.url}/api/jobs/${jobId}`),
        (j) => j.state === 'succeeded' || j.state === 'failed',
        60_000,
      );
      expect(done.state, JSON.stringify(done)).toBe('succeeded');
      expect(done.attempts, JSON.stringify(done)).toBe(2);
      const objectsAfter = (await readdir(join(dataDir, 'objects'))).sort();
      expect(objectsAfter.filter((o) => !objectsBefore.includes(o))).toEqual([done.result!.outputHash]);
      const files = (await readdir(join(dataDir, 'objects', done.result!.outputHash))).sort();
      expect(files).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'merge-report.json']);
      // The killed attempt's staging folder was swept at restart.
      await waitFor(() => readdir(join(dataDir, 'tmp')), (e) => e.length === 0, 5000);
      second.child.kill('SIGTERM');
      await new Promise((r) => second.child.once('exit', r));
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

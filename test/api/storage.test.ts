// The data dir: numbered migrations, refusal of a newer schema, the object
// store's commit/sweep rules, plus /api/health and /api/methods.
import { describe, expect, it } from 'vitest';
import request from 'supertest';
import Database from 'better-sqlite3';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { listMigrations, openDb } from '../../server/db/open-db.ts';
import { BlobStore, manifestHash } from '../../server/storage/blob-store.ts';
import { sha256Bytes } from '../../src/util/hash.ts';
import { makeHarness } from './harness.ts';
import { TOOL_VERSION } from '../../src/version.ts';

describe('SQLite schema', () => {
  it('applies the numbered migrations, in WAL with synchronous=FULL', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'awb-db-'));
    try {
      const db = openDb(join(dir, 'a.sqlite'));
      expect(db.pragma('user_version', { simple: true })).toBe(listMigrations().length);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(2);
      db.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start on a schema newer than this build knows', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'awb-db-'));
    try {
      const raw = new Database(join(dir, 'a.sqlite'));
      raw.pragma('user_version = 99');
      raw.close();
      expect(() => openDb(join(dir, 'a.sqlite'))).toThrow(/newer than this build/);
      // And the CLI says so with its code, exit 1.
      await mkdir(join(dir, 'data'));
      const raw2 = new Database(join(dir, 'data', 'awb.sqlite'));
      raw2.pragma('user_version = 99');
      raw2.close();
      const child = spawn(process.execPath, ['bin/awb.js', 'serve', '--data', join(dir, 'data'), '--port', '0', '--no-build'], { cwd: join(import.meta.dirname, '../..') });
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      const code = await new Promise((r) => child.once('exit', r));
      expect(code).toBe(1);
      expect(err).toContain('SCHEMA_TOO_NEW');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('object store', () => {
  it('names an object by the hash of its manifest and keeps one copy of equal content', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'awb-blob-'));
    try {
      const blobs = new BlobStore(dir);
      await blobs.init();
      const put = async (): Promise<{ hash: string; existed: boolean }> => {
        const s = await blobs.stage();
        const f = await blobs.createFile(s, 'a.bin');
        await f.write(new TextEncoder().encode('hello'));
        await f.finish();
        return blobs.commit(s);
      };
      const one = await put();
      const two = await put();
      expect(one.hash).toBe(manifestHash([{ name: 'a.bin', sha256: sha256Bytes('hello') }]));
      expect(two.hash).toBe(one.hash);
      expect(two.existed).toBe(true);
      expect(await readdir(join(dir, 'objects'))).toEqual([one.hash]);
      expect(await blobs.tmpEntries()).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('sweeps staging folders of dead processes at start, but not those of live ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'awb-blob-'));
    try {
      const blobs = new BlobStore(dir);
      await blobs.init();
      const mine = await blobs.stage();
      const owner = mine.split('/').pop()!.split('.')[0]!;
      await mkdir(join(dir, 'tmp', `${owner}.999999.dead`));
      await writeFile(join(dir, 'tmp', `${owner}.999999.dead`, 'partial.safetensors'), 'x');
      expect(await new BlobStore(dir).init()).toBe(1);
      expect(await blobs.tmpEntries()).toEqual([mine.split('/').pop()]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('health and methods', () => {
  it('reports backend, version and queue depth; lists methods with JSON-schema params', async () => {
    const h = await makeHarness();
    try {
      const health = await request(h.app).get('/api/health');
      expect(health.status).toBe(200);
      expect(health.body.version).toBe(TOOL_VERSION);
      expect(typeof health.body.backend.name).toBe('string');
      expect(typeof health.body.backend.isGpu).toBe('boolean');
      expect(health.body.queue).toEqual({ backend: 'sqlite', queued: 0, running: 0 });
      const methods = await request(h.app).get('/api/methods');
      expect(methods.status).toBe(200);
      const names = (methods.body.items as { name: string }[]).map((m) => m.name);
      expect(names).toContain('linear');
      expect(names).toContain('ties');
      const ties = (methods.body.items as { name: string; paramsSchema: { properties: Record<string, { type: unknown }> } }[]).find((m) => m.name === 'ties')!;
      expect(ties.paramsSchema.properties.density).toBeDefined();
    } finally {
      await h.close();
    }
  });

  it('sends SSE heartbeats while a job waits', async () => {
    const h = await makeHarness({ app: { sseHeartbeatMs: 50 } });
    const server = h.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      let req = request(h.app).post('/api/adapters');
      for (const f of ['adapter_config.json', 'adapter_model.safetensors']) req = req.attach('files', join(import.meta.dirname, '../../fixtures/adapters/llama-a', f));
      const id = (await req).body.id as string;
      const sub = await request(h.app).post('/api/merges').send({ method: 'linear', inputs: [{ adapter: id }] });
      const port = (server.address() as { port: number }).port;
      const controller = new AbortController();
      const res = await fetch(`http://127.0.0.1:${port}/api/jobs/${sub.body.jobId}/events`, { signal: controller.signal });
      const reader = res.body!.getReader();
      let text = '';
      while (!text.includes(': heartbeat')) text += new TextDecoder().decode((await reader.read()).value);
      controller.abort();
      expect(text).toContain('event: state');
      expect(text).toContain(': heartbeat');
    } finally {
      server.close();
      await h.close();
    }
  });
});

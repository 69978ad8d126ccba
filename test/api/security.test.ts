// Bearer auth, closed CORS, helmet headers, Host checks, JSON 404s, the
// bases allow-list (no path traversal), and config refusals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { makeHarness, type Harness } from './harness.ts';
import { parseConfig } from '../../server/config.ts';
import { HttpError } from '../../server/errors.ts';

const TOKEN = 'test-token-0123456789abcdef';
let open: Harness;
let locked: Harness;

beforeAll(async () => {
  open = await makeHarness({ app: { allowedHosts: ['127.0.0.1', 'localhost'] } });
  locked = await makeHarness({ app: { token: TOKEN } });
});
afterAll(async () => {
  await open.close();
  await locked.close();
});

describe('bearer auth when a token is configured', () => {
  it('401 without a token or with a wrong one, on API and static routes alike', async () => {
    for (const path of ['/api/health', '/api/adapters', '/', '/api/nope']) {
      const none = await request(locked.app).get(path);
      expect(none.status, path).toBe(401);
      expect(none.body.code).toBe('UNAUTHORIZED');
      expect(none.headers['www-authenticate']).toBe('Bearer');
      const wrong = await request(locked.app).get(path).set('Authorization', `Bearer ${TOKEN}x`);
      expect(wrong.status, path).toBe(401);
    }
    const basic = await request(locked.app).get('/api/health').set('Authorization', `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`);
    expect(basic.status).toBe(401);
  });

  it('200 with the right token', async () => {
    const res = await request(locked.app).get('/api/health').set('Authorization', `Bearer ${TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.body.authRequired).toBe(true);
  });
});

describe('headers and origins', () => {
  it('sends helmet headers and no CORS headers', async () => {
    const res = await request(open.app).get('/api/health').set('Origin', 'http://evil.example');
    expect(res.status).toBe(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['x-frame-options']).toBeDefined();
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('refuses cross-origin writes and foreign Host headers (DNS rebinding)', async () => {
    const post = await request(open.app).post('/api/analyses').set('Origin', 'http://evil.example').send({ adapters: [] });
    expect(post.status).toBe(401);
    const rebinding = await request(open.app).get('/api/health').set('Host', 'evil.example:7860');
    expect(rebinding.status).toBe(401);
  });

  it('answers unknown routes and methods with JSON 404', async () => {
    for (const [method, path] of [
      ['get', '/api/does-not-exist'],
      ['post', '/api/health'],
      ['put', '/api/adapters'],
      ['get', '/nothing-here.txt'],
    ] as const) {
      const res = await request(open.app)[method](path);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.code).toBe('ROUTE_NOT_FOUND');
      expect(res.body.requestId).toMatch(/^[0-9a-f]{12}$/);
    }
  });

  it('serves a page saying the dashboard is missing while the API works', async () => {
    const res = await request(open.app).get('/');
    expect(res.status).toBe(200);
    expect(res.text).toContain('the HTTP API still works');
  });
});

describe('the built dashboard', () => {
  it('serves web/dist with an index.html fallback for client routes; /api stays JSON', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dist = await mkdtemp(join(tmpdir(), 'awb-dist-'));
    await writeFile(join(dist, 'index.html'), '<!doctype html><div id="app">dashboard</div>');
    await writeFile(join(dist, 'app.js'), 'console.log(1)');
    const h = await makeHarness({ app: { webDist: dist } });
    try {
      const root = await request(h.app).get('/');
      expect(root.status).toBe(200);
      expect(root.text).toContain('dashboard');
      const deep = await request(h.app).get('/jobs/123');
      expect(deep.text).toContain('dashboard');
      const js = await request(h.app).get('/app.js');
      expect(js.headers['content-type']).toMatch(/javascript/);
      const api = await request(h.app).get('/api/nothing');
      expect(api.status).toBe(404);
      expect(api.body.code).toBe('ROUTE_NOT_FOUND');
      const dot = await request(h.app).get('/../../etc/passwd');
      expect(dot.text).not.toContain('root:');
    } finally {
      await h.close();
      await rm(dist, { recursive: true, force: true });
    }
  });
});

describe('bases: the allow-listed root only', () => {
  it('registers an uploaded base checkpoint', async () => {
    const { join } = await import('node:path');
    const res = await request(open.app).post('/api/bases').attach('file', join(import.meta.dirname, '../../fixtures/adapters/llama-base/model.safetensors')).field('name', 'llama tiny');
    expect(res.status).toBe(201);
    expect(res.body.source).toBe('upload');
    expect(res.body.name).toBe('llama tiny');
    const bad = await request(open.app).post('/api/bases').attach('file', join(import.meta.dirname, '../../fixtures/malformed/empty.safetensors'));
    expect(bad.status).toBe(422);
    expect(await open.tmpEntries()).toEqual([]);
  });

  it('registers a base by a path under the root, and lists it', async () => {
    const res = await request(open.app).post('/api/bases').send({ path: 'real/base-tinygpt2' });
    expect(res.status).toBe(201);
    expect(res.body.source).toBe('path');
    expect(res.body.relativePath).toBe('real/base-tinygpt2');
    expect(res.body.tensorCount).toBeGreaterThan(10);
    const again = await request(open.app).post('/api/bases').send({ path: 'real/base-tinygpt2' });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(res.body.id);
    const list = await request(open.app).get('/api/bases');
    expect(list.body.items.map((b: { id: string }) => b.id)).toContain(res.body.id);
  });

  it('refuses absolute paths, .., and paths that do not exist', async () => {
    for (const path of ['/etc/passwd', '../package.json', 'real/../../package.json', 'a\u0000b']) {
      const res = await request(open.app).post('/api/bases').send({ path });
      expect([403], path).toContain(res.status);
      expect(res.body.code).toBe('FORBIDDEN_PATH');
    }
    const missing = await request(open.app).post('/api/bases').send({ path: 'no/such/base' });
    expect(missing.status).toBe(404);
    const extra = await request(open.app).post('/api/bases').send({ path: 'x', other: 1 });
    expect(extra.status).toBe(400);
    expect(extra.body.code).toBe('VALIDATION_FAILED');
  });
});

describe('config', () => {
  const env = {};
  it('binds 127.0.0.1:7860 by default with the sqlite queue', () => {
    const c = parseConfig(['serve'], env, '/tmp');
    expect(c.host).toBe('127.0.0.1');
    expect(c.port).toBe(7860);
    expect(c.queue).toBe('sqlite');
    expect(c.dataDir).toBe('/tmp/.awb-data');
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('refuses a non-loopback host without AWB_TOKEN, and accepts it with one', () => {
    expect(() => parseConfig(['serve', '--host', '0.0.0.0'], env, '/tmp')).toThrow(HttpError);
    const c = parseConfig(['serve', '--host', '0.0.0.0'], { AWB_TOKEN: TOKEN }, '/tmp');
    expect(c.token).toBe(TOKEN);
  });

  it('refuses bad ports, unknown queues, bullmq without a URL, and unknown flags', () => {
    expect(() => parseConfig(['serve', '--port', '70000'], env, '/tmp')).toThrow(/port/);
    expect(() => parseConfig(['serve', '--queue', 'kafka'], env, '/tmp')).toThrow(/queue/);
    expect(() => parseConfig(['serve', '--queue', 'bullmq'], env, '/tmp')).toThrow(/AWB_REDIS_URL/);
    expect(() => parseConfig(['serve', '--bogus'], env, '/tmp')).toThrow();
    expect(parseConfig(['worker'], { AWB_REDIS_URL: 'redis://127.0.0.1:6390' }, '/tmp').queue).toBe('bullmq');
  });
});

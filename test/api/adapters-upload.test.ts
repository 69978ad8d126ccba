// POST/GET/DELETE /api/adapters: good uploads, the malformed corpus over HTTP,
// oversize files, crafted multipart bodies, and hostile file names. Every
// rejection must leave no staging file and no row.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FIXTURES, makeHarness, type Harness } from './harness.ts';
import { sha256Bytes } from '../../src/util/hash.ts';

let h: Harness;
beforeAll(async () => {
  // Validation runs in a worker thread here, as in `awb serve`: codes must survive the thread hop.
  h = await makeHarness({ validateInWorker: true, app: { uploadLimits: { maxBytes: 4 * 1024 * 1024 } } });
});
afterAll(async () => h.close());

async function uploadFolder(folder: string, name?: string) {
  let req = request(h.app).post('/api/adapters');
  for (const file of (await readdir(folder)).sort()) req = req.attach('files', join(folder, file));
  if (name) req = req.field('name', name);
  return req;
}

describe('upload a PEFT folder', () => {
  it('registers the adapter with the loader’s module table and dedups equal content', async () => {
    const res = await uploadFolder(join(FIXTURES, 'real', 'gemma3-logo'), 'logo');
    expect(res.status).toBe(201);
    expect(res.body.name).toBe('logo');
    expect(res.body.format).toBe('peft');
    expect(res.body.moduleCount).toBeGreaterThan(0);
    expect(res.body.ranks).toEqual([4]);
    expect(res.body.targets).toEqual(['q_proj', 'v_proj']);
    const weights = await readFile(join(FIXTURES, 'real', 'gemma3-logo', 'adapter_model.safetensors'));
    const file = (res.body.files as { name: string; sha256: string }[]).find((f) => f.name === 'adapter_model.safetensors');
    expect(file?.sha256).toBe(sha256Bytes(weights));
    for (const m of res.body.modules as { rank: number; outFeatures: number; inFeatures: number; params: number }[]) {
      expect(m.params).toBe(m.rank * (m.outFeatures + m.inFeatures));
    }
    const again = await uploadFolder(join(FIXTURES, 'real', 'gemma3-logo'));
    expect(again.status).toBe(200);
    expect(again.body.duplicate).toBe(true);
    expect(again.body.id).toBe(res.body.id);

    const list = await request(h.app).get('/api/adapters');
    expect(list.status).toBe(200);
    expect(list.body.items.map((a: { id: string }) => a.id)).toContain(res.body.id);
    const detail = await request(h.app).get(`/api/adapters/${res.body.id}`);
    expect(detail.body.modules.length).toBe(res.body.moduleCount);
    expect(await h.tmpEntries()).toEqual([]);
  });

  it('returns per-module singular values with ?spectra=1, matching ‖ΔW‖_F from the factors', async () => {
    const res = await uploadFolder(join(FIXTURES, 'adapters', 'llama-a'));
    expect(res.status).toBe(201);
    const detail = await request(h.app).get(`/api/adapters/${res.body.id}?spectra=1`);
    expect(detail.status).toBe(200);
    const spectra = detail.body.spectra as { module: string; singularValues: number[] }[];
    expect(spectra.length).toBe(res.body.moduleCount);
    // Independent check: Σσ² = ‖scale·B·A‖_F² computed densely from the stored factors.
    const { loadAdapter } = await import('../../src/adapter/load-adapter.ts');
    const adapter = await loadAdapter(join(FIXTURES, 'adapters', 'llama-a'));
    const first = adapter.modules[0]!;
    const { A, B } = await first.load();
    let fro = 0;
    for (let i = 0; i < B.rows; i += 1) {
      for (let j = 0; j < A.cols; j += 1) {
        let s = 0;
        for (let k = 0; k < B.cols; k += 1) s += B.data[i * B.cols + k]! * A.data[k * A.cols + j]!;
        fro += (first.scale * s) ** 2;
      }
    }
    await adapter.close();
    const sv = spectra.find((s) => s.module === first.name)!.singularValues;
    expect(sv.reduce((a, v) => a + v * v, 0)).toBeCloseTo(fro, 6);
    for (let i = 1; i < sv.length; i += 1) expect(sv[i]!).toBeLessThanOrEqual(sv[i - 1]! + 1e-12);
  });

  it('accepts a single kohya .safetensors file', async () => {
    const res = await request(h.app).post('/api/adapters').attach('file', join(FIXTURES, 'adapters', 'kohya-sample', 'kohya_lora.safetensors'));
    expect(res.status).toBe(201);
    expect(res.body.format).toBe('kohya');
    expect(res.body.name).toBe('kohya_lora');
  });

  it('deletes an adapter, then answers 404 for it', async () => {
    const res = await uploadFolder(join(FIXTURES, 'adapters', 'llama-b'));
    expect(res.status).toBe(201);
    const objects = await h.objectCount();
    expect((await request(h.app).delete(`/api/adapters/${res.body.id}`)).status).toBe(204);
    expect(await h.objectCount()).toBe(objects - 1);
    const gone = await request(h.app).get(`/api/adapters/${res.body.id}`);
    expect(gone.status).toBe(404);
    expect(gone.body.code).toBe('NOT_FOUND');
    expect((await request(h.app).delete(`/api/adapters/${res.body.id}`)).status).toBe(404);
  });
});

describe('the malformed safetensors corpus over HTTP', () => {
  it('answers 422 with the manifest’s code for each file, and leaves nothing behind', async () => {
    const manifest = JSON.parse(await readFile(join(FIXTURES, 'malformed', 'manifest.json'), 'utf8')) as { file: string; expectedCode: string | null }[];
    const before = (await request(h.app).get('/api/adapters')).body.items.length as number;
    let checked = 0;
    for (const entry of manifest) {
      const res = await request(h.app).post('/api/adapters').attach('file', join(FIXTURES, 'malformed', entry.file));
      if (entry.expectedCode === null) {
        // Valid containers that are not adapters: refused as adapters, never a crash.
        expect([200, 201, 422], entry.file).toContain(res.status);
        continue;
      }
      expect(res.status, entry.file).toBe(422);
      expect(res.body.code, entry.file).toBe(entry.expectedCode);
      expect(typeof res.body.message).toBe('string');
      expect(res.body.message).not.toMatch(/\/tmp\/|awb-api-/);
      checked += 1;
    }
    expect(checked).toBeGreaterThan(30);
    expect(await h.tmpEntries()).toEqual([]);
    const after = (await request(h.app).get('/api/adapters')).body.items as { name: string }[];
    expect(after.length - before).toBeLessThanOrEqual(manifest.filter((e) => e.expectedCode === null).length);
  });

  it('answers 422 with the adapter-level code for broken adapters (pairing, ranks, config)', async () => {
    const manifest = JSON.parse(await readFile(join(FIXTURES, 'malformed', 'adapters', 'manifest.json'), 'utf8')) as {
      path: string;
      expectedCode: string;
    }[];
    for (const entry of manifest) {
      const res = await uploadFolder(join(FIXTURES, 'malformed', 'adapters', entry.path));
      if (res.status === 400 && res.body.code === 'UPLOAD_EMPTY') continue; // e.g. pickle-only: no .safetensors at all
      expect(res.status, entry.path).toBe(422);
      expect(res.body.code, entry.path).toBe(entry.expectedCode);
    }
    expect(await h.tmpEntries()).toEqual([]);
  });
});

describe('limits and crafted bodies', () => {
  it('413 for a file over the size limit, streamed, with nothing kept', async () => {
    const big = Buffer.alloc(5 * 1024 * 1024, 1);
    big.writeBigUInt64LE(2n, 0);
    big.write('{}', 8);
    const res = await request(h.app).post('/api/adapters').attach('file', big, 'big.safetensors');
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('UPLOAD_TOO_LARGE');
    expect(await h.tmpEntries()).toEqual([]);
  });

  it('413 early when the header declares more data than the limit allows', async () => {
    const header = Buffer.from(JSON.stringify({ w: { dtype: 'F32', shape: [4096, 4096], data_offsets: [0, 4096 * 4096 * 4] } }));
    const bytes = Buffer.concat([Buffer.alloc(8), header, Buffer.alloc(1024)]);
    bytes.writeBigUInt64LE(BigInt(header.length), 0);
    const res = await request(h.app).post('/api/adapters').attach('file', bytes, 'huge.safetensors');
    expect(res.status).toBe(413);
    expect(await h.tmpEntries()).toEqual([]);
  });

  it('415 for a non-multipart body, 400 for a multipart body without boundary or files', async () => {
    const json = await request(h.app).post('/api/adapters').send({ path: '/etc/passwd' });
    expect(json.status).toBe(415);
    expect(json.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const noBoundary = await request(h.app).post('/api/adapters').set('Content-Type', 'multipart/form-data').send('xx');
    expect(noBoundary.status).toBe(400);
    expect(noBoundary.body.code).toBe('MALFORMED_MULTIPART');
    const empty = await request(h.app).post('/api/adapters').field('name', 'x');
    expect(empty.status).toBe(400);
    expect(empty.body.code).toBe('UPLOAD_EMPTY');
  });

  it('400 for a part header followed directly by the closing boundary (multer 1.x crash shape)', async () => {
    const body = '--XX\r\nContent-Disposition: form-data; name="file"; filename="a.safetensors"\r\n\r\n--XX--\r\n';
    const res = await request(h.app).post('/api/adapters').set('Content-Type', 'multipart/form-data; boundary=XX').send(body);
    expect([400, 422]).toContain(res.status);
    expect(await h.tmpEntries()).toEqual([]);
  });

  it('413 for thousands of parts', async () => {
    const parts: string[] = [];
    for (let i = 0; i < 2000; i += 1) parts.push(`--XX\r\nContent-Disposition: form-data; name="f${i}"\r\n\r\nv\r\n`);
    const res = await request(h.app).post('/api/adapters').set('Content-Type', 'multipart/form-data; boundary=XX').send(`${parts.join('')}--XX--\r\n`);
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('UPLOAD_TOO_MANY_PARTS');
  });

  it('422 for two weight files in one upload', async () => {
    const res = await request(h.app)
      .post('/api/adapters')
      .attach('a', join(FIXTURES, 'adapters', 'llama-a', 'adapter_model.safetensors'))
      .attach('b', join(FIXTURES, 'adapters', 'kohya-sample', 'kohya_lora.safetensors'), 'x.safetensors');
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('UPLOAD_FILE_UNEXPECTED');
    expect(await h.tmpEntries()).toEqual([]);
  });

  it('keeps a traversal file name as a sanitised label only; a NUL in the part header is refused', async () => {
    const bytes = await readFile(join(FIXTURES, 'adapters', 'mlx-sample', 'adapters.safetensors'));
    const cfg = await readFile(join(FIXTURES, 'adapters', 'mlx-sample', 'adapter_config.json'));
    const nul = await request(h.app).post('/api/adapters').attach('f', bytes, 'evil\u0000name.safetensors');
    expect(nul.status).toBe(400);
    expect(nul.body.code).toBe('MALFORMED_MULTIPART');
    const res = await request(h.app)
      .post('/api/adapters')
      .attach('f', bytes, '../../../../etc/evil\u202ename.safetensors')
      .attach('c', cfg, 'adapter_config.json');
    expect(res.status).toBe(201);
    expect(res.body.name).toBe('evilname');
    expect(res.body.files.map((f: { name: string }) => f.name)).toContain('evilname.safetensors');
    const long = await request(h.app).post('/api/adapters').field('name', 'é'.repeat(2000)).attach('f', join(FIXTURES, 'adapters', 'diffusers-sample', 'pytorch_lora_weights.safetensors'));
    expect(long.status).toBe(201);
    expect([...long.body.name].length).toBe(120);
    for (const o of await readdir(join(h.dataDir, 'objects'))) expect(o).toMatch(/^[0-9a-f]{64}$/);
    expect(await h.tmpEntries()).toEqual([]);
  });

  it('404 JSON for unknown and malformed ids', async () => {
    for (const path of ['/api/adapters/01ARZ3NDEKTSV4RRFFQ69G5FAV', '/api/adapters/..%2F..%2Fetc', '/api/adapters/x']) {
      const res = await request(h.app).get(path);
      expect(res.status, path).toBe(404);
      expect(res.body.code).toBe('NOT_FOUND');
    }
  });
});

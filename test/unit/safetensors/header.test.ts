// Header rules that the malformed corpus does not pin down on its own.
import { mkdtemp, rm, truncate, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorkbenchError } from '../../../src/errors.ts';
import { DEFAULT_HEADER_LIMITS, parseHeader, readHeaderLength } from '../../../src/safetensors/header.ts';
import { openSafetensors, parseSafetensors } from '../../../src/safetensors/reader.ts';
import { floatTensor, writeSafetensors } from '../../../src/safetensors/writer.ts';

const enc = new TextEncoder();

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(WorkbenchError);
    return (error as WorkbenchError).code;
  }
  return 'accepted';
}

describe('header rules', () => {
  it('treats "__metadata__": null as no metadata, as the reference Option does', () => {
    const json = enc.encode('{"__metadata__":null}');
    const header = parseHeader(json, 8 + json.byteLength, 'null-meta');
    expect(Object.keys(header.metadata)).toEqual([]);
    expect(Object.getPrototypeOf(header.metadata)).toBe(null);
  });

  it('returns tensors in data-offset order whatever the header order', () => {
    const json = enc.encode('{"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}');
    const header = parseHeader(json, 8 + json.byteLength + 3, 'order');
    expect(header.tensors.map((t) => t.name)).toEqual(['a', 'b']);
    expect(header.dataBytes).toBe(3);
  });

  it('compares the length prefix as a BigInt: the cap itself passes, one above does not', () => {
    const prefix = (n: bigint): Uint8Array => {
      const out = new Uint8Array(8);
      new DataView(out.buffer).setBigUint64(0, n, true);
      return out;
    };
    const limits = { ...DEFAULT_HEADER_LIMITS, maxHeaderBytes: 100 };
    expect(readHeaderLength(prefix(100n), 108, 'cap', limits)).toBe(100);
    expect(codeOf(() => readHeaderLength(prefix(101n), 10_000, 'cap', limits))).toBe('ST_HEADER_TOO_LARGE');
    expect(codeOf(() => readHeaderLength(prefix(2n ** 63n + 5n), 10_000, 'cap'))).toBe('ST_HEADER_TOO_LARGE');
    expect(codeOf(() => readHeaderLength(prefix(100n), 107, 'cap', limits))).toBe('ST_HEADER_LENGTH_INVALID');
  });

  it('applies lowered rank, dim and depth limits', () => {
    const one = (shape: string, extra = ''): Uint8Array =>
      enc.encode(`{"w":{"dtype":"U8","shape":${shape},"data_offsets":[0,0]${extra}}}`);
    const limits = { ...DEFAULT_HEADER_LIMITS, maxRank: 2, maxDim: 10, maxDepth: 3 };
    const parse = (json: Uint8Array): unknown => parseHeader(json, 8 + json.byteLength, 'limits', limits);
    expect(codeOf(() => parse(one('[0,10]')))).toBe('accepted');
    expect(codeOf(() => parse(one('[0,1,1]')))).toBe('ST_SHAPE_TOO_LARGE');
    expect(codeOf(() => parse(one('[0,11]')))).toBe('ST_SHAPE_TOO_LARGE');
    expect(codeOf(() => parse(one('[0]', ',"x":[[1]]')))).toBe('ST_HEADER_TOO_DEEP');
  });

  it('reports each unknown entry field once as a warning naming the tensor', () => {
    const bytes = enc.encode('{"w":{"dtype":"U8","shape":[0],"data_offsets":[0,0],"a":1,"b":{"c":true}}}');
    const header = parseHeader(bytes, 8 + bytes.byteLength, 'warn');
    expect(header.warnings).toHaveLength(2);
    expect(header.warnings[0]).toContain('"w"');
  });

  it('refuses tensor entries of the wrong JSON type with ST_TENSOR_INFO_INVALID', () => {
    for (const entry of ['3', '"x"', '{"shape":[0],"data_offsets":[0,0]}', '{"dtype":"U8","shape":[0],"data_offsets":[0]}', '{"dtype":"U8","shape":["1"],"data_offsets":[0,1]}']) {
      const json = enc.encode(`{"w":${entry}}`);
      expect(codeOf(() => parseSafetensors(new Uint8Array([...new Uint8Array(new BigUint64Array([BigInt(json.byteLength)]).buffer), ...json]), 'types'))).toBe(
        'ST_TENSOR_INFO_INVALID',
      );
    }
  });
});

describe('read-ahead recovery', () => {
  it('retries after a failed window read once the file is whole again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'awb-header-'));
    try {
      const path = join(dir, 'w.safetensors');
      await writeSafetensors(path, [floatTensor('a', 'F32', [2], [1, 2]), floatTensor('b', 'F32', [2], [3, 4])]);
      const whole = await readFile(path);
      const file = await openSafetensors(path);
      await truncate(path, whole.byteLength - 4);
      await expect(file.readFloat32('a')).rejects.toMatchObject({ code: 'IO_ERROR' });
      await writeFile(path, whole);
      expect([...(await file.readFloat32('a'))]).toEqual([1, 2]);
      expect([...(await file.readFloat32('b'))]).toEqual([3, 4]);
      await file.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

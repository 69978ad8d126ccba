import { open, readdir, readFile, rm, mkdir, truncate, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DTYPE_BITS } from '../../../src/dtype.ts';
import { DEFAULT_HEADER_LIMITS, parseHeaderStructure } from '../../../src/safetensors/header.ts';
import { openSafetensors, parseSafetensors } from '../../../src/safetensors/reader.ts';
import { floatTensor, serializeSafetensors, writeSafetensors, type TensorToWrite } from '../../../src/safetensors/writer.ts';
import { TEMP_PREFIX, writeFileAtomic } from '../../../src/util/atomic-write.ts';
import { codeOf } from '../../helpers/error-code.ts';
import { rawSafetensors } from '../../helpers/raw-safetensors.ts';
import { suiteTempDir } from '../../helpers/temp-dir.ts';

const dir = suiteTempDir('awb-st-');

function headerOf(bytes: Uint8Array): { n: number; json: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { n, json: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) };
}

describe('A26: safetensors round trip (algorithms.md §7)', () => {
  const A = [1, 2, 3, 4, 5, 6];
  const B = [0.5, -1.25, 2, 3, 4, 5, 6, 7];
  const tensors = [
    floatTensor('base_model.model.lin.lora_A.weight', 'F32', [2, 3], A),
    floatTensor('base_model.model.lin.lora_B.weight', 'F32', [4, 2], B),
  ];

  it('lays out an 8-byte length, the JSON header with offsets [0,24] and [24,56], then 56 data bytes', () => {
    const bytes = serializeSafetensors(tensors);
    const { n, json } = headerOf(bytes);
    expect(n % 8).toBe(0);
    expect(json['base_model.model.lin.lora_A.weight']!.data_offsets).toEqual([0, 24]);
    expect(json['base_model.model.lin.lora_B.weight']!.data_offsets).toEqual([24, 56]);
    expect(bytes.byteLength).toBe(8 + n + 56);
    const data = new DataView(bytes.buffer, 8 + n);
    [...A, ...B].forEach((v, i) => expect(data.getFloat32(i * 4, true)).toBe(v));
  });

  it('reads back bit-identical tensors from a file', async () => {
    const path = join(dir, 'a26.safetensors');
    await writeSafetensors(path, tensors);
    const file = await openSafetensors(path);
    try {
      for (const t of tensors) {
        expect(Buffer.from(await file.readBytes(t.name)).equals(Buffer.from(t.bytes))).toBe(true);
      }
      expect([...(await file.readFloat64('base_model.model.lin.lora_A.weight'))]).toEqual(A);
      expect([...(await file.readFloat32('base_model.model.lin.lora_B.weight'))]).toEqual(B);
      expect(file.info('base_model.model.lin.lora_B.weight').shape).toEqual([4, 2]);
    } finally {
      await file.close();
    }
  });

  it('rejects a header with overlapping or out-of-range offsets', async () => {
    const data = new Uint8Array(56);
    const overlap = `{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"F32","shape":[4,2],"data_offsets":[16,48]}}`;
    const outOfRange = `{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"F32","shape":[4,2],"data_offsets":[24,56]}}`;
    expect(await codeOf(() => parseSafetensors(rawSafetensors(overlap, data)))).toBe('ST_OFFSETS_INVALID');
    expect(await codeOf(() => parseSafetensors(rawSafetensors(outOfRange, data.subarray(0, 40))))).toBe('ST_DATA_SIZE_MISMATCH');
  });
});

describe('writer layout', () => {
  it('orders wider dtypes first, then names by UTF-8 bytes, so every tensor starts on a multiple of its element size', () => {
    const tensors: TensorToWrite[] = [
      floatTensor('z', 'F16', [3], [1, 2, 3]),
      floatTensor('a', 'BF16', [1], [1]),
      { name: 'i8', dtype: 'I8', shape: [5], bytes: new Uint8Array(5) },
      floatTensor('d', 'F64', [1], [1]),
      floatTensor('ä', 'F32', [3], [1, 2, 3]),
      floatTensor('b', 'F32', [1], [1]),
    ];
    const bytes = serializeSafetensors(tensors);
    const { n, json } = headerOf(bytes);
    expect(n % 8).toBe(0);
    const order = Object.entries(json).sort((x, y) => x[1].data_offsets[0] - y[1].data_offsets[0]).map(([k]) => k);
    expect(order).toEqual(['d', 'b', 'ä', 'a', 'z', 'i8']);
    for (const entry of Object.values(json)) {
      expect((8 + n + entry.data_offsets[0]) % (DTYPE_BITS[entry.dtype as 'F32'] / 8)).toBe(0);
    }
  });

  it('keeps __metadata__ and puts the header in a fresh object (a __proto__ tensor stays a tensor)', async () => {
    const bytes = serializeSafetensors([floatTensor('__proto__', 'F32', [1], [3])], { format: 'pt', note: 'é "quoted"' });
    const source = parseSafetensors(bytes);
    expect(source.metadata).toEqual(Object.assign(Object.create(null), { format: 'pt', note: 'é "quoted"' }));
    expect([...source.tensors.keys()]).toEqual(['__proto__']);
    expect([...(await source.readFloat32('__proto__'))]).toEqual([3]);
  });

  it('refuses what it could not write faithfully', async () => {
    const one = floatTensor('w', 'F32', [1], [1]);
    expect(await codeOf(() => serializeSafetensors([one, one]))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => serializeSafetensors([{ ...one, name: '__metadata__' }]))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => serializeSafetensors([{ ...one, name: 'a\ud800' }]))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => serializeSafetensors([{ ...one, shape: [2] }]))).toBe('ST_SHAPE_MISMATCH');
    expect(await codeOf(() => serializeSafetensors([{ ...one, shape: [1.5] }]))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => serializeSafetensors([{ ...one, dtype: 'F128' as 'F32' }]))).toBe('ST_DTYPE_UNKNOWN');
    expect(await codeOf(() => serializeSafetensors([{ name: 'f4', dtype: 'F4', shape: [3], bytes: new Uint8Array(2) }]))).toBe('ST_SHAPE_MISMATCH');
    expect(await codeOf(() => serializeSafetensors([one], { step: 3 as unknown as string }))).toBe('ST_METADATA_INVALID');
  });

  it('writes sub-byte dtypes that fill whole bytes', () => {
    const bytes = serializeSafetensors([{ name: 'f4', dtype: 'F4', shape: [4], bytes: new Uint8Array([0x12, 0x34]) }]);
    expect(parseSafetensors(bytes).info('f4').dataOffsets).toEqual([0, 2]);
  });
});

describe('atomic writes', () => {
  it('replaces an existing file and leaves no temporary file behind', async () => {
    const path = join(dir, 'atomic', 'out.safetensors');
    await writeSafetensors(path, [floatTensor('w', 'F32', [1], [1])]);
    await writeSafetensors(path, [floatTensor('w', 'F32', [2], [1, 2])]);
    const file = await openSafetensors(path);
    expect(file.info('w').shape).toEqual([2]);
    await file.close();
    expect((await readdir(join(dir, 'atomic'))).filter((f) => f.startsWith(TEMP_PREFIX))).toEqual([]);
  });

  it('cleans up its temporary file when the rename fails', async () => {
    const target = join(dir, 'blocked');
    await mkdir(join(target, 'child'), { recursive: true });
    const code = await codeOf(() => writeFileAtomic(target, new Uint8Array([1, 2, 3])));
    expect(code).toBe('IO_ERROR');
    expect((await readdir(dir)).filter((f) => f.startsWith(TEMP_PREFIX))).toEqual([]);
  });
});

describe('lazy reading', () => {
  it('opens a 10 GB file by reading only its header, and reads a small tensor at its end', async () => {
    const big = 10 * 1_000_000_000;
    const header = JSON.stringify({
      big: { dtype: 'U8', shape: [10, 1_000_000_000], data_offsets: [0, big] },
      tail: { dtype: 'F32', shape: [2], data_offsets: [big, big + 8] },
    });
    const path = join(dir, 'sparse-10gb.safetensors');
    const prefix = rawSafetensors(header, new Uint8Array(0));
    const handle = await open(path, 'w');
    await handle.write(prefix, 0, prefix.byteLength, 0);
    const tail = new Uint8Array(new Float32Array([1.25, -8]).buffer);
    await handle.write(tail, 0, 8, prefix.byteLength + big);
    await handle.close();
    expect((await stat(path)).size).toBe(prefix.byteLength + big + 8);
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    const file = await openSafetensors(path);
    try {
      expect(performance.now() - started).toBeLessThan(2000);
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(200 * 1024 * 1024);
      expect(file.dataStart + file.info('tail').dataOffsets[0]).toBe(prefix.byteLength + big);
      expect([...(await file.readFloat32('tail'))]).toEqual([1.25, -8]);
    } finally {
      await file.close();
      await rm(path);
    }
  });

  it('decodes F32, F64, F16 and BF16 tensors stored at odd file offsets', async () => {
    // Header length 13 + 8 = data at 21 (odd); tensor starts 0, 8, 16, 20 → all unaligned in the file.
    const f64 = new Float64Array([Math.PI]);
    const f32 = new Float32Array([1.5, -2.25]);
    const f16 = new Uint16Array([0x3c00, 0xc000]); // 1, -2
    const bf16 = new Uint16Array([0x4049]); // 3.140625
    const data = new Uint8Array(8 + 8 + 4 + 2);
    data.set(new Uint8Array(f64.buffer), 0);
    data.set(new Uint8Array(f32.buffer), 8);
    data.set(new Uint8Array(f16.buffer), 16);
    data.set(new Uint8Array(bf16.buffer), 20);
    let header = JSON.stringify({
      d: { dtype: 'F64', shape: [1], data_offsets: [0, 8] },
      f: { dtype: 'F32', shape: [2], data_offsets: [8, 16] },
      h: { dtype: 'F16', shape: [2], data_offsets: [16, 20] },
      b: { dtype: 'BF16', shape: [1], data_offsets: [20, 22] },
    });
    if ((8 + header.length) % 2 === 0) header += ' ';
    const path = join(dir, 'odd.safetensors');
    await writeFileAtomic(path, rawSafetensors(header, data));
    const file = await openSafetensors(path);
    try {
      expect(file.dataStart % 2).toBe(1);
      expect([...(await file.readFloat64('d'))]).toEqual([Math.PI]);
      expect([...(await file.readFloat32('d'))]).toEqual([Math.fround(Math.PI)]);
      expect([...(await file.readFloat32('f'))]).toEqual([1.5, -2.25]);
      expect([...(await file.readFloat64('h'))]).toEqual([1, -2]);
      expect([...(await file.readFloat32('b'))]).toEqual([3.140625]);
    } finally {
      await file.close();
    }
    const inMemory = parseSafetensors(await readFile(path));
    expect([...(await inMemory.readFloat32('f'))]).toEqual([1.5, -2.25]);
  });

  it('serves runs of small tensors from the read-ahead window in any order, around large tensors', async () => {
    // 28 small tensors of 60 KB (several growing windows: 256 KiB, 512 KiB, 1 MiB…), with two
    // 300 KB tensors (above the read-ahead limit) among them.
    const tensors: TensorToWrite[] = [];
    for (let i = 0; i < 30; i++) {
      const size = i === 10 || i === 20 ? 300_000 : 60_000;
      const bytes = new Uint8Array(size);
      for (let j = 0; j < size; j += 997) bytes[j] = (i * 31 + j) & 0xff;
      tensors.push({ name: `t${String(i).padStart(2, '0')}`, dtype: 'U8', shape: [size], bytes });
    }
    const path = join(dir, 'many-small.safetensors');
    await writeSafetensors(path, tensors);
    const orders = [tensors.map((_, i) => i), tensors.map((_, i) => 29 - i), tensors.map((_, i) => (i * 17) % 30)];
    for (const order of orders) {
      const file = await openSafetensors(path);
      try {
        for (const i of order) {
          const t = tensors[i]!;
          expect(Buffer.from(await file.readBytes(t.name)).equals(Buffer.from(t.bytes))).toBe(true);
        }
      } finally {
        await file.close();
      }
    }
    const file = await openSafetensors(path);
    const all = await Promise.all(tensors.map((t) => file.readBytes(t.name)));
    all.forEach((bytes, i) => expect(Buffer.from(bytes).equals(Buffer.from(tensors[i]!.bytes))).toBe(true));
    await file.close();
  });

  it('names the missing tensor, refuses undecodable dtypes, and fails cleanly after close or truncation', async () => {
    const path = join(dir, 'errors.safetensors');
    await writeSafetensors(path, [floatTensor('w', 'F32', [4], [1, 2, 3, 4]), { name: 'c', dtype: 'C64', shape: [1], bytes: new Uint8Array(8) }]);
    const file = await openSafetensors(path);
    const untouched = await openSafetensors(path);
    expect(await codeOf(() => file.readFloat32('nope'))).toBe('ST_TENSOR_NOT_FOUND');
    expect(() => file.info('nope')).toThrow(/errors\.safetensors: no tensor named "nope"/);
    expect(await codeOf(() => file.readFloat64('c'))).toBe('ST_DTYPE_UNSUPPORTED');
    expect((await file.readBytes('c')).byteLength).toBe(8);
    // Bytes already in the read-ahead window stay readable; a first read after truncation fails.
    await truncate(path, (await stat(path)).size - 4);
    expect(await codeOf(() => untouched.readBytes('w'))).toBe('IO_ERROR');
    await untouched.close();
    await file.close();
    expect(await codeOf(() => file.readBytes('w'))).toBe('IO_ERROR');
    expect(await codeOf(() => openSafetensors(join(dir, 'missing.safetensors')))).toBe('FILE_NOT_FOUND');
    expect(await codeOf(() => openSafetensors(dir))).toBe('IO_ERROR');
  });
});

describe('header limits', () => {
  it('stops counting tensors at the limit while tokenizing', async () => {
    const entries = Array.from({ length: 10 }, (_, i) => `"t${i}":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}`);
    const bytes = rawSafetensors(`{${entries.join(',')}}`, new Uint8Array(0));
    expect(parseSafetensors(bytes).tensors.size).toBe(10);
    expect(await codeOf(() => parseSafetensors(bytes, 'x', { ...DEFAULT_HEADER_LIMITS, maxTensors: 3 }))).toBe('ST_TOO_MANY_TENSORS');
  });

  it('checks a header on its own before the data has arrived (upload sniffing)', () => {
    const header = new TextEncoder().encode('{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}');
    const structure = parseHeaderStructure(header, 'upload');
    expect(structure.tensors.map((t) => t.name)).toEqual(['w']);
    expect(structure.metadata.format).toBe('pt');
  });

  it('accepts integers up to 2^53 - 1 exactly and rejects 2^53', async () => {
    const at = (n: string): Uint8Array => rawSafetensors(`{"w":{"dtype":"U8","shape":[0],"data_offsets":[${n},${n}]}}`, new Uint8Array(0));
    expect(await codeOf(() => parseSafetensors(at('9007199254740991')))).toBe('ST_OFFSETS_INVALID');
    expect(await codeOf(() => parseSafetensors(at('9007199254740992')))).toBe('ST_HEADER_UNSAFE_INTEGER');
  });
});

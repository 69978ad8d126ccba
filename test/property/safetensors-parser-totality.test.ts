// Fuzzing by property: no byte string makes the parser throw anything but a WorkbenchError,
// and what it accepts JSON.parse also accepts, with the same keys. The oracle mirrors the
// reference's fuzz target ("never panics") plus a differential check against JSON.parse.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { WorkbenchError } from '../../src/errors.ts';
import { DTYPE_BITS, isDecodableDType } from '../../src/dtype.ts';
import { parseSafetensors } from '../../src/safetensors/reader.ts';
import { floatTensor, serializeSafetensors, type TensorToWrite } from '../../src/safetensors/writer.ts';
import { rawSafetensors } from '../helpers/raw-safetensors.ts';

const SEED = 20261124;

/** Parses and reads every decodable tensor; returns the error if one was thrown. */
async function parseAndRead(bytes: Uint8Array): Promise<unknown> {
  try {
    const source = parseSafetensors(bytes, 'fuzz');
    for (const info of source.tensors.values()) {
      await source.readBytes(info.name);
      if (isDecodableDType(info.dtype)) {
        await source.readFloat64(info.name);
        await source.readFloat32(info.name);
      }
    }
    // Differential: an accepted header is valid JSON to JSON.parse, with the same key set
    // (our tokenizer refused duplicates, so nothing was silently dropped).
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const parsed = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as object;
    const keys = Object.keys(parsed).filter((k) => k !== '__metadata__').sort();
    expect(keys).toEqual([...source.tensors.keys()].sort());
    return undefined;
  } catch (error) {
    return error;
  }
}

function expectTotal(error: unknown): void {
  if (error !== undefined) {
    expect(error).toBeInstanceOf(WorkbenchError);
    expect((error as WorkbenchError).message).toContain('fuzz');
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const FLOAT_DTYPES = ['F32', 'F16', 'BF16', 'F64'] as const;
const ALL_DTYPES = Object.keys(DTYPE_BITS) as (keyof typeof DTYPE_BITS)[];

const floatTensorArb = fc
  .record({
    name: fc.string({ unit: 'grapheme', minLength: 0, maxLength: 12 }),
    dtype: fc.constantFrom(...FLOAT_DTYPES),
    shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
  })
  .chain(({ name, dtype, shape }) =>
    fc
      .array(fc.double(), { minLength: shape.reduce((a, b) => a * b, 1), maxLength: shape.reduce((a, b) => a * b, 1) })
      .map((values) => floatTensor(name, dtype, shape, values)),
  );

const validFileArb = fc
  .tuple(
    fc.uniqueArray(floatTensorArb, { selector: (t) => t.name, maxLength: 5 }).map((ts) => ts.filter((t) => t.name !== '__metadata__')),
    fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
  )
  .map(([tensors, metadata]) => serializeSafetensors(tensors, metadata));

const HEADER_ALPHABET = ['{', '}', '[', ']', '"', ':', ',', ' ', '0', '1', '8', '9', '-', '.', 'e', 'dtype', 'shape', 'data_offsets', 'F32', 'U8', 'F4', '__metadata__', '__proto__', '\\u', 'd800', '9007199254740993'];

describe('parseSafetensors is total: it returns or throws a WorkbenchError naming the input', () => {
  it('on arbitrary bytes', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 128 }), async (bytes) => expectTotal(await parseAndRead(bytes))), {
      seed: SEED,
      numRuns: 400,
    });
  });

  it('on a correct length prefix followed by JSON-like text and random data', async () => {
    const arb = fc.tuple(fc.array(fc.constantFrom(...HEADER_ALPHABET), { maxLength: 40 }).map((parts) => parts.join('')), fc.uint8Array({ maxLength: 32 }));
    await fc.assert(fc.asyncProperty(arb, async ([header, data]) => expectTotal(await parseAndRead(rawSafetensors(header, data)))), {
      seed: SEED,
      numRuns: 400,
    });
  });

  it('on structurally valid headers with random dtypes, shapes and offsets', async () => {
    const entry = fc.record({
      dtype: fc.oneof(fc.constantFrom(...ALL_DTYPES), fc.string({ maxLength: 4 })),
      shape: fc.array(fc.oneof(fc.nat(6), fc.constant(2 ** 32), fc.constant(2 ** 53)), { maxLength: 3 }),
      data_offsets: fc.tuple(fc.nat(40), fc.nat(40)),
    });
    const arb = fc.tuple(fc.dictionary(fc.string({ maxLength: 4 }), entry, { maxKeys: 4 }), fc.uint8Array({ maxLength: 48 }));
    await fc.assert(fc.asyncProperty(arb, async ([header, data]) => expectTotal(await parseAndRead(rawSafetensors(JSON.stringify(header), data)))), {
      seed: SEED,
      numRuns: 400,
    });
  });

  it('on valid files after bit flips, truncation, insertions and header edits', async () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }) }),
      fc.record({ kind: fc.constant('edit-header' as const), at: fc.nat(), text: fc.constantFrom(...HEADER_ALPHABET) }),
      fc.record({ kind: fc.constant('length' as const), value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
    );
    await fc.assert(
      fc.asyncProperty(validFileArb, fc.array(mutation, { minLength: 1, maxLength: 3 }), async (file, mutations) => {
        let bytes = file;
        for (const m of mutations) {
          if (m.kind === 'flip' && bytes.byteLength > 0) {
            bytes = bytes.slice();
            bytes[m.at % bytes.byteLength]! ^= 1 << m.bit;
          } else if (m.kind === 'truncate') {
            bytes = bytes.slice(0, m.at % (bytes.byteLength + 1));
          } else if (m.kind === 'insert') {
            const at = m.at % (bytes.byteLength + 1);
            bytes = new Uint8Array([...bytes.subarray(0, at), ...m.bytes, ...bytes.subarray(at)]);
          } else if (m.kind === 'edit-header' && bytes.byteLength > 8) {
            const n = Math.min(Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true)), bytes.byteLength - 8);
            const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
            const at = n === 0 ? 0 : m.at % text.length;
            const edited = text.slice(0, at) + m.text + text.slice(at + 1);
            bytes = rawSafetensors(edited, bytes.subarray(8 + n));
          } else if (m.kind === 'length' && bytes.byteLength >= 8) {
            bytes = bytes.slice();
            new DataView(bytes.buffer).setBigUint64(0, m.value, true);
          }
        }
        expectTotal(await parseAndRead(bytes));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});

describe('serialize → parse round trip', () => {
  const rawTensorArb = fc
    .record({
      name: fc.string({ unit: 'binary', maxLength: 10 }).filter((s) => s !== '__metadata__' && !LONE_SURROGATE.test(s)),
      dtype: fc.constantFrom(...ALL_DTYPES),
      shape: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 4 }),
    })
    .map((t) => {
      // Sub-byte dtypes need whole bytes: pad the last dim to make the bit count divisible by 8.
      const count = t.shape.reduce((a, b) => a * b, 1);
      if ((count * DTYPE_BITS[t.dtype]) % 8 !== 0) return { ...t, shape: [...t.shape, 8] };
      return t;
    })
    .chain((t) => {
      const length = (t.shape.reduce((a, b) => a * b, 1) * DTYPE_BITS[t.dtype]) / 8;
      return fc.uint8Array({ minLength: length, maxLength: length }).map((bytes): TensorToWrite => ({ ...t, bytes }));
    });

  it('keeps names, dtypes, shapes, bytes and metadata identical, with aligned data', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(rawTensorArb, { selector: (t) => t.name, maxLength: 6 }),
        fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 8 }), fc.string({ unit: 'grapheme', maxLength: 12 }), { maxKeys: 4 }),
        async (tensors, metadata) => {
          const bytes = serializeSafetensors(tensors, metadata);
          const source = parseSafetensors(bytes, 'round-trip');
          expect(source.tensors.size).toBe(tensors.length);
          for (const t of tensors) {
            const info = source.info(t.name);
            expect(info.dtype).toBe(t.dtype);
            expect(info.shape).toEqual(t.shape);
            expect(Buffer.from(await source.readBytes(t.name)).equals(Buffer.from(t.bytes))).toBe(true);
            const start = 8 + source.header.headerBytes + info.dataOffsets[0];
            expect(start % Math.max(1, DTYPE_BITS[t.dtype] / 8)).toBe(0);
          }
          expect({ ...source.metadata }).toEqual(metadata);
          const again = serializeSafetensors(
            await Promise.all([...source.tensors.values()].map(async (info) => ({ ...info, bytes: await source.readBytes(info.name) }))),
            source.metadata,
          );
          expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('decodes float tensors to the values the encoder rounded to', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(floatTensorArb, { selector: (t) => t.name, maxLength: 4 }), async (tensors) => {
        const kept = tensors.filter((t) => t.name !== '__metadata__');
        const source = parseSafetensors(serializeSafetensors(kept), 'round-trip');
        for (const t of kept) {
          const again = floatTensor(t.name, t.dtype as (typeof FLOAT_DTYPES)[number], t.shape, await source.readFloat64(t.name));
          expect(Buffer.from(again.bytes).equals(Buffer.from(t.bytes))).toBe(true);
        }
      }),
      { seed: SEED, numRuns: 150 },
    );
  });
});

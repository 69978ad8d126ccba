// Serialise tensors: sorted by name, each aligned to 8 bytes, header padded
// with spaces to a multiple of 8, __metadata__ kept. Files are written atomically.
import { WorkbenchError } from '../errors.ts';
import { DTYPE_BYTES, encodeFloats, type DType, type FloatDType } from '../dtype.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';

export interface TensorToWrite {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Little-endian stored bytes. */
  readonly bytes: Uint8Array;
}

/** Data alignment for every tensor start, and header padding target. */
export const ALIGNMENT_BYTES = 8;

export function floatTensor(name: string, dtype: FloatDType, shape: readonly number[], values: ArrayLike<number>): TensorToWrite {
  return { name, dtype, shape, bytes: encodeFloats(dtype, values) };
}

/**
 * Returns the file as chunks: the length prefix and header, then each tensor's bytes.
 * Offsets must be contiguous (the reference rejects gaps), so alignment comes from the
 * order, as in the reference serializer: wider dtypes first, then by name, with the header
 * space-padded to a multiple of 8. Every tensor then starts on a multiple of its element size.
 */
export function serializeSafetensorsChunks(
  tensors: readonly TensorToWrite[],
  metadata?: Readonly<Record<string, string>>,
): Uint8Array[] {
  const sorted = [...tensors].sort(
    (a, b) => DTYPE_BYTES[b.dtype] - DTYPE_BYTES[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    header.__metadata__ = Object.fromEntries(Object.entries(metadata).sort(([a], [b]) => (a < b ? -1 : 1)));
  }
  const seen = new Set<string>();
  let offset = 0;
  const chunks: Uint8Array[] = [];
  for (const tensor of sorted) {
    if (seen.has(tensor.name) || tensor.name === '__metadata__') {
      throw new WorkbenchError('INVALID_ARGUMENT', `cannot write two tensors named "${tensor.name}"`, {
        details: { tensor: tensor.name },
      });
    }
    seen.add(tensor.name);
    const expected = tensor.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[tensor.dtype];
    if (expected !== tensor.bytes.byteLength) {
      throw new WorkbenchError('ST_SHAPE_MISMATCH', `tensor "${tensor.name}": shape [${tensor.shape.join(', ')}] ${tensor.dtype} needs ${expected} bytes, got ${tensor.bytes.byteLength}`, {
        details: { tensor: tensor.name, expectedBytes: expected, actualBytes: tensor.bytes.byteLength },
      });
    }
    header[tensor.name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + tensor.bytes.byteLength] };
    chunks.push(tensor.bytes);
    offset += tensor.bytes.byteLength;
  }
  const encoder = new TextEncoder();
  let json = JSON.stringify(header);
  const pad = (ALIGNMENT_BYTES - (encoder.encode(json).byteLength % ALIGNMENT_BYTES)) % ALIGNMENT_BYTES;
  json += ' '.repeat(pad);
  const headerBytes = encoder.encode(json);
  const prefix = new Uint8Array(8 + headerBytes.byteLength);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  prefix.set(headerBytes, 8);
  return [prefix, ...chunks];
}

export function serializeSafetensors(tensors: readonly TensorToWrite[], metadata?: Readonly<Record<string, string>>): Uint8Array {
  const chunks = serializeSafetensorsChunks(tensors, metadata);
  const total = chunks.reduce((n, c) => n + c.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

export async function writeSafetensors(
  path: string,
  tensors: readonly TensorToWrite[],
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  await writeFileAtomic(path, serializeSafetensorsChunks(tensors, metadata));
}

// Serialise tensors the way the reference writer does: wider dtypes first, then by name
// (UTF-8 byte order), contiguous data, the header space-padded to a multiple of 8, so every
// tensor starts at a multiple of its element size; __metadata__ kept. Files are written
// atomically (temp file, fsync, rename, fsync of the folder).
import { WorkbenchError } from '../errors.ts';
import { DTYPE_BITS, encodeFloats, isDType, type DType, type FloatDType } from '../dtype.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { MAX_TENSOR_COUNT, MAX_TENSOR_RANK } from '../limits.ts';

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

const utf8 = new TextEncoder();

function invalid(message: string, details: Record<string, unknown>): WorkbenchError {
  return new WorkbenchError('INVALID_ARGUMENT', message, { details });
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Names and metadata must be well-formed Unicode: a lone surrogate cannot be stored as UTF-8. */
function isWellFormedText(value: unknown): value is string {
  return typeof value === 'string' && !LONE_SURROGATE.test(value);
}

function validateTensor(tensor: TensorToWrite, seen: Set<string>): void {
  const { name } = tensor;
  if (!isWellFormedText(name) || name === '__metadata__') {
    throw invalid(`cannot write a tensor named ${JSON.stringify(name)}: the name is reserved, not a string, or not well-formed Unicode`, { tensor: name });
  }
  if (seen.has(name)) {
    throw invalid(`cannot write two tensors named "${name}"`, { tensor: name });
  }
  seen.add(name);
  if (typeof tensor.dtype !== 'string' || !isDType(tensor.dtype)) {
    throw new WorkbenchError('ST_DTYPE_UNKNOWN', `tensor "${name}": unknown dtype ${JSON.stringify(tensor.dtype)}`, {
      details: { tensor: name, dtype: tensor.dtype },
    });
  }
  if (!Array.isArray(tensor.shape) || tensor.shape.length > MAX_TENSOR_RANK || !tensor.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw invalid(`tensor "${name}": shape ${JSON.stringify(tensor.shape)} is not a list of at most ${MAX_TENSOR_RANK} non-negative integers`, {
      tensor: name,
      shape: tensor.shape,
    });
  }
  const bits = tensor.shape.reduce((a, b) => a * b, 1) * DTYPE_BITS[tensor.dtype];
  if (!Number.isSafeInteger(bits) || bits % 8 !== 0 || bits / 8 !== tensor.bytes.byteLength) {
    throw new WorkbenchError('ST_SHAPE_MISMATCH', `tensor "${name}": shape [${tensor.shape.join(', ')}] ${tensor.dtype} needs ${bits / 8} bytes, got ${tensor.bytes.byteLength}`, {
      details: { tensor: name, expectedBytes: bits / 8, actualBytes: tensor.bytes.byteLength },
    });
  }
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The order the reference writer lays tensors out in: wider dtypes first, then by name. */
export function writeOrder(tensors: readonly TensorToWrite[]): TensorToWrite[] {
  return [...tensors].sort((a, b) => DTYPE_BITS[b.dtype] - DTYPE_BITS[a.dtype] || compareUtf8(a.name, b.name));
}

/**
 * Returns the file as chunks: the length prefix and header, then each tensor's bytes
 * (the caller's arrays, not copies).
 */
export function serializeSafetensorsChunks(tensors: readonly TensorToWrite[], metadata?: Readonly<Record<string, string>>): Uint8Array[] {
  if (tensors.length > MAX_TENSOR_COUNT) {
    throw new WorkbenchError('ST_TOO_MANY_TENSORS', `cannot write ${tensors.length} tensors (limit ${MAX_TENSOR_COUNT})`, {
      details: { count: tensors.length, limit: MAX_TENSOR_COUNT },
    });
  }
  const seen = new Set<string>();
  for (const tensor of tensors) validateTensor(tensor, seen);
  const parts: string[] = [];
  const metaKeys = metadata ? Object.keys(metadata).sort(compareUtf8) : [];
  if (metaKeys.length > 0) {
    const fields = metaKeys.map((key) => {
      const value = metadata![key];
      if (!isWellFormedText(value) || !isWellFormedText(key)) {
        throw new WorkbenchError('ST_METADATA_INVALID', `metadata value "${key}" is a ${typeof value}, not a well-formed string`, {
          details: { key, type: typeof value },
        });
      }
      return `${JSON.stringify(key)}:${JSON.stringify(value)}`;
    });
    parts.push(`"__metadata__":{${fields.join(',')}}`);
  }
  let offset = 0;
  const chunks: Uint8Array[] = [];
  for (const tensor of writeOrder(tensors)) {
    const end = offset + tensor.bytes.byteLength;
    parts.push(`${JSON.stringify(tensor.name)}:{"dtype":"${tensor.dtype}","shape":[${tensor.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    chunks.push(tensor.bytes);
    offset = end;
  }
  const json = utf8.encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.byteLength / ALIGNMENT_BYTES) * ALIGNMENT_BYTES;
  const prefix = new Uint8Array(8 + padded).fill(0x20, 8 + json.byteLength);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(padded), true);
  prefix.set(json, 8);
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

/** Writes a .safetensors file atomically: readers see the old file or the whole new one. */
export async function writeSafetensors(path: string, tensors: readonly TensorToWrite[], metadata?: Readonly<Record<string, string>>): Promise<void> {
  await writeFileAtomic(path, serializeSafetensorsChunks(tensors, metadata));
}

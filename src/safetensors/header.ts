// The safetensors header: parse and validate in the reference implementation's order.
// (First cut: JSON.parse based. The strict tokenizer replaces parseHeaderJson.)
import { WorkbenchError } from '../errors.ts';
import { DTYPE_BYTES, isDType, type DType } from '../dtype.ts';
import { MAX_HEADER_BYTES, MAX_TENSOR_COUNT } from '../limits.ts';

export interface TensorInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Byte range inside the data region (after the 8-byte length and the header). */
  readonly dataOffsets: readonly [number, number];
}

export interface SafetensorsHeader {
  readonly headerBytes: number;
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensors in data-offset order. */
  readonly tensors: readonly TensorInfo[];
  /** Size of the data region the header describes. */
  readonly dataBytes: number;
}

/** Length prefix size in bytes (a little-endian u64). */
export const N_LEN = 8;

export function readHeaderLength(prefix: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < N_LEN || prefix.byteLength < N_LEN) {
    throw new WorkbenchError('ST_FILE_TOO_SMALL', `${file}: ${fileSize} bytes is too small to be safetensors (need at least 8)`, {
      details: { file, sizeBytes: fileSize },
    });
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, N_LEN).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new WorkbenchError('ST_HEADER_TOO_LARGE', `${file}: header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`, {
      details: { file, headerBytes: n.toString(), limit: MAX_HEADER_BYTES },
    });
  }
  const headerBytes = Number(n);
  if (N_LEN + headerBytes > fileSize) {
    throw new WorkbenchError('ST_HEADER_LENGTH_INVALID', `${file}: header length ${headerBytes} runs past the end of the ${fileSize}-byte file`, {
      details: { file, headerBytes, sizeBytes: fileSize },
    });
  }
  return headerBytes;
}

export function parseHeader(headerJson: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerJson);
  } catch {
    throw new WorkbenchError('ST_HEADER_NOT_UTF8', `${file}: the header is not valid UTF-8`, { details: { file } });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new WorkbenchError('ST_HEADER_NOT_JSON', `${file}: the header is not valid JSON (${(error as Error).message})`, {
      details: { file },
    });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new WorkbenchError('ST_HEADER_NOT_JSON', `${file}: the header is not a JSON object`, { details: { file } });
  }
  const entries = Object.entries(raw as Record<string, unknown>);
  let metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  for (const [name, value] of entries) {
    if (name === '__metadata__') {
      metadata = validateMetadata(value, file);
      continue;
    }
    tensors.push(validateTensorInfo(name, value, file));
  }
  if (tensors.length > MAX_TENSOR_COUNT) {
    throw new WorkbenchError('ST_TOO_MANY_TENSORS', `${file}: ${tensors.length} tensors exceeds the limit of ${MAX_TENSOR_COUNT}`, {
      details: { file, count: tensors.length, limit: MAX_TENSOR_COUNT },
    });
  }
  tensors.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let end = 0;
  for (const tensor of tensors) {
    const [start, stop] = tensor.dataOffsets;
    if (start !== end || stop < start) {
      throw new WorkbenchError('ST_OFFSETS_INVALID', `${file}: tensor "${tensor.name}" has data_offsets [${start}, ${stop}] but the previous tensor ended at ${end}`, {
        details: { file, tensor: tensor.name, dataOffsets: [start, stop], expectedStart: end },
      });
    }
    const elements = tensor.shape.reduce((a, b) => a * b, 1);
    const expected = elements * DTYPE_BYTES[tensor.dtype];
    if (!Number.isSafeInteger(expected) || expected !== stop - start) {
      throw new WorkbenchError('ST_SHAPE_MISMATCH', `${file}: tensor "${tensor.name}" has shape [${tensor.shape.join(', ')}] ${tensor.dtype} (${expected} bytes) but data_offsets span ${stop - start} bytes`, {
        details: { file, tensor: tensor.name, shape: tensor.shape, dtype: tensor.dtype, expectedBytes: expected, actualBytes: stop - start },
      });
    }
    end = stop;
  }
  const headerBytes = headerJson.byteLength;
  if (N_LEN + headerBytes + end !== fileSize) {
    throw new WorkbenchError('ST_DATA_SIZE_MISMATCH', `${file}: the header describes ${end} data bytes but the file holds ${fileSize - N_LEN - headerBytes}`, {
      details: { file, describedBytes: end, actualBytes: fileSize - N_LEN - headerBytes },
    });
  }
  return { headerBytes, metadata, tensors, dataBytes: end };
}

function validateMetadata(value: unknown, file: string): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new WorkbenchError('ST_METADATA_INVALID', `${file}: __metadata__ must be an object of strings`, { details: { file } });
  }
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'string') {
      throw new WorkbenchError('ST_METADATA_INVALID', `${file}: __metadata__ value "${key}" is a ${typeof v}, not a string`, {
        details: { file, key, type: typeof v },
      });
    }
    out[key] = v;
  }
  return out;
}

function validateTensorInfo(name: string, value: unknown, file: string): TensorInfo {
  const bad = (why: string): WorkbenchError =>
    new WorkbenchError('ST_TENSOR_INFO_INVALID', `${file}: tensor "${name}": ${why}`, { details: { file, tensor: name } });
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw bad('entry is not an object');
  }
  const entry = value as Record<string, unknown>;
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== 'string') {
    throw bad('dtype is missing or not a string');
  }
  if (!isDType(dtype)) {
    throw new WorkbenchError('ST_DTYPE_UNKNOWN', `${file}: tensor "${name}" has unknown dtype "${dtype}"`, {
      details: { file, tensor: name, dtype },
    });
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw bad(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw bad(`data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`);
  }
  return { name, dtype, shape: shape as number[], dataOffsets: [offsets[0] as number, offsets[1] as number] };
}

// The safetensors header: read the 8-byte length, then tokenize and validate the JSON header
// in the reference implementation's order (reliability.md §1.2):
//   1 ≥ 8 bytes · 2 length ≤ cap (as BigInt) · 3 length within the file · 4 UTF-8 (fatal, BOM kept)
//   5 strict JSON: one object, no duplicate keys, integers exact, entries well-typed, known dtypes,
//     __metadata__ string → string · 6 offsets contiguous from 0 in (begin, end) order ·
//   7 prod(shape) × bits fits · 8 whole bytes · 9 bytes = end − begin · 10 file size exact.
import { WorkbenchError, type ErrorCode } from '../errors.ts';
import { DTYPE_BITS, DTYPE_NAMES, isDType, type DType } from '../dtype.ts';
import { MAX_HEADER_BYTES, MAX_HEADER_JSON_DEPTH, MAX_TENSOR_COUNT, MAX_TENSOR_DIM, MAX_TENSOR_RANK } from '../limits.ts';
import { parseStrictJson, safeIntegerOf, StrictJsonError, type StrictJsonValue } from './strict-json.ts';

export interface TensorInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Byte range inside the data region (after the 8-byte length and the header). */
  readonly dataOffsets: readonly [number, number];
}

export interface SafetensorsHeader {
  readonly headerBytes: number;
  /** A null-prototype object: a `__proto__` key is plain data. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensors in data-offset order. */
  readonly tensors: readonly TensorInfo[];
  /** Size of the data region the header describes. */
  readonly dataBytes: number;
  /** Accepted oddities (unknown keys inside a tensor entry), one sentence each. */
  readonly warnings: readonly string[];
}

/** The limits the header parser enforces; tests may lower them. */
export interface HeaderLimits {
  readonly maxHeaderBytes: number;
  readonly maxTensors: number;
  readonly maxDepth: number;
  readonly maxRank: number;
  readonly maxDim: number;
}

export const DEFAULT_HEADER_LIMITS: HeaderLimits = {
  maxHeaderBytes: MAX_HEADER_BYTES,
  maxTensors: MAX_TENSOR_COUNT,
  maxDepth: MAX_HEADER_JSON_DEPTH,
  maxRank: MAX_TENSOR_RANK,
  maxDim: MAX_TENSOR_DIM,
};

/** Length prefix size in bytes (a little-endian u64). */
export const N_LEN = 8;

const TENSOR_FIELDS = new Set(['dtype', 'shape', 'data_offsets']);

function fail(code: ErrorCode, file: string, message: string, details: Record<string, unknown> = {}): never {
  throw new WorkbenchError(code, `${file}: ${message}`, { details: { file, ...details } });
}

/** Rows 1–3: the header length, checked as a BigInt before anything is allocated. */
export function readHeaderLength(prefix: Uint8Array, fileSize: number, file: string, limits: HeaderLimits = DEFAULT_HEADER_LIMITS): number {
  if (fileSize < N_LEN || prefix.byteLength < N_LEN) {
    fail('ST_FILE_TOO_SMALL', file, `${fileSize} bytes is too small to be safetensors (need at least 8)`, { sizeBytes: fileSize });
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, N_LEN).getBigUint64(0, true);
  if (n > BigInt(limits.maxHeaderBytes)) {
    fail('ST_HEADER_TOO_LARGE', file, `header length ${n} exceeds the ${limits.maxHeaderBytes}-byte limit`, {
      headerBytes: n.toString(),
      limit: limits.maxHeaderBytes,
    });
  }
  const headerBytes = Number(n);
  if (N_LEN + headerBytes > fileSize) {
    fail('ST_HEADER_LENGTH_INVALID', file, `header length ${headerBytes} runs past the end of the ${fileSize}-byte file`, {
      headerBytes,
      sizeBytes: fileSize,
    });
  }
  return headerBytes;
}

interface HeaderStructure {
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensors in header order. */
  readonly tensors: readonly TensorInfo[];
  readonly warnings: readonly string[];
}

/**
 * Rows 4–5: decodes and tokenizes the header and checks each entry's types, without the
 * offset and size checks (an upload can run this as soon as the header has arrived).
 */
export function parseHeaderStructure(headerJson: Uint8Array, file: string, limits: HeaderLimits = DEFAULT_HEADER_LIMITS): HeaderStructure {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerJson);
  } catch {
    fail('ST_HEADER_NOT_UTF8', file, 'the header is not valid UTF-8');
  }
  let root: StrictJsonValue;
  try {
    root = parseStrictJson(text, { maxDepth: limits.maxDepth, maxTopLevelEntries: limits.maxTensors + 1 });
  } catch (error) {
    if (!(error instanceof StrictJsonError)) throw error;
    switch (error.failure) {
      case 'duplicate-key':
        fail('ST_HEADER_DUPLICATE_KEY', file, `the header names the key ${JSON.stringify(error.key)} twice (${error.message})`, {
          key: error.key,
          position: error.position,
        });
      case 'too-deep':
        fail('ST_HEADER_TOO_DEEP', file, `the header JSON is nested too deeply (${error.message})`, {
          limit: limits.maxDepth,
          position: error.position,
        });
      case 'too-many-entries':
        fail('ST_TOO_MANY_TENSORS', file, `the header declares more than ${limits.maxTensors} tensors`, { limit: limits.maxTensors });
      case 'syntax':
        fail('ST_HEADER_NOT_JSON', file, `the header is not valid JSON: ${error.message}`, { position: error.position });
    }
  }
  if (root.kind !== 'object') {
    fail('ST_HEADER_NOT_JSON', file, `the header is a JSON ${root.kind}, not an object`);
  }
  let metadata: Record<string, string> = Object.create(null) as Record<string, string>;
  const tensors: TensorInfo[] = [];
  const warnings: string[] = [];
  for (const [name, value] of root.entries) {
    if (name === '__metadata__') {
      metadata = validateMetadata(value, file);
      continue;
    }
    tensors.push(validateTensorInfo(name, value, file, limits, warnings));
  }
  if (tensors.length > limits.maxTensors) {
    fail('ST_TOO_MANY_TENSORS', file, `${tensors.length} tensors exceeds the limit of ${limits.maxTensors}`, {
      count: tensors.length,
      limit: limits.maxTensors,
    });
  }
  return { metadata, tensors, warnings };
}

/** Rows 4–10: the full header check against the real file size. */
export function parseHeader(headerJson: Uint8Array, fileSize: number, file: string, limits: HeaderLimits = DEFAULT_HEADER_LIMITS): SafetensorsHeader {
  const { metadata, tensors: inHeaderOrder, warnings } = parseHeaderStructure(headerJson, file, limits);
  const tensors = [...inHeaderOrder].sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let end = 0;
  for (const tensor of tensors) {
    const [start, stop] = tensor.dataOffsets;
    if (start !== end || stop < start) {
      fail('ST_OFFSETS_INVALID', file, `tensor "${tensor.name}" has data_offsets [${start}, ${stop}] but the previous tensor ended at ${end}`, {
        tensor: tensor.name,
        dataOffsets: [start, stop],
        expectedStart: end,
      });
    }
    let elements = 1;
    for (const dim of tensor.shape) {
      elements *= dim;
      if (elements > Number.MAX_SAFE_INTEGER) break;
    }
    const bits = elements * DTYPE_BITS[tensor.dtype];
    if (!Number.isSafeInteger(bits)) {
      fail('ST_VALIDATION_OVERFLOW', file, `tensor "${tensor.name}" has shape [${tensor.shape.join(', ')}] whose size in bits overflows`, {
        tensor: tensor.name,
        shape: tensor.shape,
        dtype: tensor.dtype,
      });
    }
    if (bits % 8 !== 0) {
      fail('ST_MISALIGNED_SLICE', file, `tensor "${tensor.name}" (${tensor.dtype} [${tensor.shape.join(', ')}]) takes ${bits} bits, not a whole number of bytes`, {
        tensor: tensor.name,
        shape: tensor.shape,
        dtype: tensor.dtype,
        bits,
      });
    }
    const expected = bits / 8;
    if (expected !== stop - start) {
      fail('ST_SHAPE_MISMATCH', file, `tensor "${tensor.name}" has shape [${tensor.shape.join(', ')}] ${tensor.dtype} (${expected} bytes) but data_offsets span ${stop - start} bytes`, {
        tensor: tensor.name,
        shape: tensor.shape,
        dtype: tensor.dtype,
        expectedBytes: expected,
        actualBytes: stop - start,
      });
    }
    end = stop;
  }
  const headerBytes = headerJson.byteLength;
  if (N_LEN + headerBytes + end !== fileSize) {
    fail('ST_DATA_SIZE_MISMATCH', file, `the header describes ${end} data bytes but the file holds ${fileSize - N_LEN - headerBytes}`, {
      describedBytes: end,
      actualBytes: fileSize - N_LEN - headerBytes,
    });
  }
  return { headerBytes, metadata, tensors, dataBytes: end, warnings };
}

function validateMetadata(value: StrictJsonValue, file: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  if (value.kind === 'null') {
    return out; // the reference models __metadata__ as an Option
  }
  if (value.kind !== 'object') {
    fail('ST_METADATA_INVALID', file, `__metadata__ must be an object of strings, not a JSON ${value.kind}`, { type: value.kind });
  }
  for (const [key, v] of value.entries) {
    if (v.kind !== 'string') {
      fail('ST_METADATA_INVALID', file, `__metadata__ value "${key}" is a JSON ${v.kind}, not a string`, { key, type: v.kind });
    }
    out[key] = v.value;
  }
  return out;
}

function readInteger(item: StrictJsonValue, what: string, name: string, file: string): number {
  if (item.kind !== 'number') {
    fail('ST_TENSOR_INFO_INVALID', file, `tensor "${name}": ${what} holds a JSON ${item.kind}, not an integer`, { tensor: name });
  }
  const n = safeIntegerOf(item.text);
  if (typeof n !== 'number') {
    const why = { negative: 'is negative', 'not-integer': 'is not an integer', unsafe: 'is above 2^53 - 1' }[n];
    fail('ST_HEADER_UNSAFE_INTEGER', file, `tensor "${name}": ${what} value ${item.text} ${why}`, { tensor: name, value: item.text });
  }
  return n;
}

function validateTensorInfo(name: string, value: StrictJsonValue, file: string, limits: HeaderLimits, warnings: string[]): TensorInfo {
  const bad = (why: string): never => fail('ST_TENSOR_INFO_INVALID', file, `tensor "${name}": ${why}`, { tensor: name });
  if (value.kind !== 'object') {
    return bad(`entry is a JSON ${value.kind}, not an object`);
  }
  const dtype = value.entries.get('dtype');
  const shape = value.entries.get('shape');
  const offsets = value.entries.get('data_offsets');
  if (dtype?.kind !== 'string') {
    return bad('dtype is missing or not a string');
  }
  if (!isDType(dtype.value)) {
    fail('ST_DTYPE_UNKNOWN', file, `tensor "${name}" has unknown dtype ${JSON.stringify(dtype.value)} (known: ${DTYPE_NAMES.join(', ')})`, {
      tensor: name,
      dtype: dtype.value,
      known: DTYPE_NAMES,
    });
  }
  if (shape?.kind !== 'array') {
    return bad('shape is missing or not a list');
  }
  if (shape.items.length > limits.maxRank) {
    fail('ST_SHAPE_TOO_LARGE', file, `tensor "${name}" has ${shape.items.length} dims, above the limit of ${limits.maxRank}`, {
      tensor: name,
      rank: shape.items.length,
      limit: limits.maxRank,
    });
  }
  const dims = shape.items.map((item) => readInteger(item, 'shape', name, file));
  const tooBig = dims.find((d) => d > limits.maxDim);
  if (tooBig !== undefined) {
    fail('ST_SHAPE_TOO_LARGE', file, `tensor "${name}" has dim ${tooBig}, above the limit of ${limits.maxDim}`, {
      tensor: name,
      shape: dims,
      limit: limits.maxDim,
    });
  }
  if (offsets?.kind !== 'array' || offsets.items.length !== 2) {
    return bad('data_offsets is missing or not a pair');
  }
  const begin = readInteger(offsets.items[0]!, 'data_offsets', name, file);
  const end = readInteger(offsets.items[1]!, 'data_offsets', name, file);
  for (const key of value.entries.keys()) {
    if (!TENSOR_FIELDS.has(key)) {
      warnings.push(`tensor "${name}" has an unknown field ${JSON.stringify(key)}, ignored as the reference does`);
    }
  }
  return { name, dtype: dtype.value, shape: dims, dataOffsets: [begin, end] };
}

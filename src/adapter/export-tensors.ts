// Shared by the exporters: a safetensors file written in one pass without holding every
// tensor in memory. Two ways to place the header (which needs every shape and offset):
// - reserved (the caller gives an upper bound on the header's size): tensor bytes go straight
//   into the target after that many bytes, and at the end the real header is written at offset
//   0, padded with spaces to exactly the reserved length (JSON allows trailing whitespace; the
//   reference reader and ours accept it). The reservation is a multiple of 8, so the data
//   section still starts 8-aligned. A header that does not fit falls back to a copy.
// - scratch (no reservation): tensor bytes go to a scratch file; the header is written to the
//   target at the end, followed by a copy of the scratch.
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { WorkbenchError, fromFsError } from '../errors.ts';
import { DTYPE_BITS, DTYPE_BYTES, encodeFloats, floatToBf16, floatToHalf, type DType, type FloatDType } from '../dtype.ts';
import { ALIGNMENT_BYTES } from '../safetensors/writer.ts';
import { countNonFinite } from './lazy-module.ts';
import type { ExportModule, ExtraTensor } from './types.ts';

export type ExportDType = Extract<FloatDType, 'F32' | 'F16' | 'BF16'>;
export const EXPORT_DTYPES: readonly ExportDType[] = ['F32', 'F16', 'BF16'];

/** What every exporter (PEFT folder, kohya file) accepts. */
export interface ExportWriteOptions {
  /** Modules in any order; an async iterable lets a merge produce them one at a time. */
  readonly modules: AsyncIterable<ExportModule> | Iterable<ExportModule>;
  /** Non-LoRA tensors (modules_to_save heads, biases…), written back under their own keys, unchanged. */
  readonly extras?: readonly ExtraTensor[];
  /** `__metadata__` of the safetensors file (recipe, seed, hashes…). "format": "pt" is added. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Factor dtype. Default F32. */
  readonly dtype?: ExportDType;
  /** Replace an existing output. Default false (ADAPTER_OUTPUT_EXISTS). */
  readonly overwrite?: boolean;
  readonly allowNonFinite?: boolean;
  readonly signal?: AbortSignal;
  /**
   * Header space to reserve (safetensorsHeaderBound of the tensors to come): tensor bytes then go
   * straight into the file, with no copy at the end. Absent: scratch file + copy.
   */
  readonly reserveHeaderBytes?: number;
}

interface Entry {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly start: number;
  readonly end: number;
}

/** A tensor's header entry before its bytes exist: shapes may be upper bounds. */
export interface PlannedTensor {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

export interface StreamingWriterOptions {
  /**
   * Bytes to reserve for the JSON header (rounded up to a multiple of 8); see safetensorsHeaderBound.
   * 0 or absent: scratch file + copy.
   */
  readonly reserveHeaderBytes?: number;
}

const utf8 = new TextEncoder();

function roundUp(n: number): number {
  return Math.ceil(n / ALIGNMENT_BYTES) * ALIGNMENT_BYTES;
}

function sortedMetadata(metadata: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * An upper bound on the header JSON the writer produces for these tensors and metadata:
 * exact names, dtypes and metadata; each shape entry and each data offset counted with as many
 * digits as its bound has. Rounded up to a multiple of 8.
 */
export function safetensorsHeaderBound(tensors: readonly PlannedTensor[], metadata: Readonly<Record<string, string>>): number {
  let dataBytes = 0;
  for (const t of tensors) dataBytes += (t.shape.reduce((a, b) => a * b, 1) * DTYPE_BITS[t.dtype]) / 8;
  const offsetDigits = String(Math.ceil(dataBytes)).length;
  // {"__metadata__":{…},"name":{"dtype":"F32","shape":[…],"data_offsets":[a,b]},…}
  let bytes = 2;
  if (Object.keys(metadata).length > 0) bytes += utf8.encode(`"__metadata__":${JSON.stringify(sortedMetadata(metadata))},`).byteLength;
  for (const t of tensors) {
    bytes += utf8.encode(JSON.stringify(t.name)).byteLength;
    bytes += `:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[,]},`.length + 2 * offsetDigits;
  }
  return roundUp(bytes);
}

export class StreamingSafetensorsWriter {
  private readonly entries = new Map<string, Entry>();
  private offset = 0;
  private handle: FileHandle | undefined;
  private done = false;
  private inPlace = false;

  private constructor(
    private readonly target: string,
    /** Where tensor bytes go: the target itself (reserved) or a scratch file. */
    private readonly dataPath: string,
    handle: FileHandle,
    /** Bytes reserved for the header JSON; 0 in scratch mode. */
    private readonly reserved: number,
  ) {
    this.handle = handle;
  }

  static async create(target: string, options: StreamingWriterOptions = {}): Promise<StreamingSafetensorsWriter> {
    const reserved = roundUp(Math.max(0, options.reserveHeaderBytes ?? 0));
    const dataPath = reserved > 0 ? target : `${target}.data`;
    try {
      return new StreamingSafetensorsWriter(target, dataPath, await open(dataPath, 'wx', 0o644), reserved);
    } catch (error) {
      throw fromFsError(error, dataPath, 'create');
    }
  }

  get tensorCount(): number {
    return this.entries.size;
  }

  /** After finish: whether the header went into the reserved space (no copy of the data). */
  get headerInPlace(): boolean {
    return this.inPlace;
  }

  /** Bytes of tensor data written so far. */
  get dataBytes(): number {
    return this.offset;
  }

  /** Where the data section starts in the file being written (8 + reservation), or 0 for the scratch file. */
  private get dataStart(): number {
    return this.reserved > 0 ? 8 + this.reserved : 0;
  }

  async add(name: string, dtype: DType, shape: readonly number[], bytes: Uint8Array): Promise<void> {
    if (this.entries.has(name) || name === '__metadata__') {
      throw new WorkbenchError('INVALID_ARGUMENT', `cannot write two tensors named "${name}"`, { details: { tensor: name } });
    }
    const expected = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    if (expected !== bytes.byteLength) {
      throw new WorkbenchError('INTERNAL', `tensor "${name}": shape [${shape.join(', ')}] ${dtype} needs ${expected} bytes, got ${bytes.byteLength}`);
    }
    if (!this.handle) throw new WorkbenchError('INTERNAL', `safetensors writer for ${this.target} is closed`, { details: { path: this.target } });
    try {
      await writeAll(this.handle, bytes, this.dataStart + this.offset);
    } catch (error) {
      throw fromFsError(error, this.dataPath, 'write');
    }
    this.entries.set(name, { dtype, shape: [...shape], start: this.offset, end: this.offset + bytes.byteLength });
    this.offset += bytes.byteLength;
  }

  private headerJson(metadata: Readonly<Record<string, string>>): Uint8Array {
    const header: Record<string, unknown> = {};
    if (Object.keys(metadata).length > 0) header.__metadata__ = sortedMetadata(metadata);
    for (const [name, e] of this.entries) {
      header[name] = { dtype: e.dtype, shape: e.shape, data_offsets: [e.start, e.end] };
    }
    return utf8.encode(JSON.stringify(header));
  }

  /** Writes the header (and, without a fitting reservation, copies the data), fsyncs the target. */
  async finish(metadata: Readonly<Record<string, string>>): Promise<void> {
    if (!this.handle || this.done) throw new WorkbenchError('INTERNAL', `safetensors writer for ${this.target} is closed`, { details: { path: this.target } });
    const json = this.headerJson(metadata);
    if (this.reserved > 0 && json.byteLength <= this.reserved) {
      const prefix = headerPrefix(json, this.reserved);
      try {
        await writeAll(this.handle, prefix, 0);
        await this.handle.sync();
      } catch (error) {
        throw fromFsError(error, this.target, 'write');
      }
      await this.handle.close();
      this.handle = undefined;
      this.done = true;
      this.inPlace = true;
      return;
    }
    // Scratch mode, or a header larger than its reservation: header + a copy of the data.
    await this.handle.sync().catch(() => undefined);
    await this.handle.close();
    this.handle = undefined;
    const out = this.reserved > 0 ? `${this.target}.rewrite` : this.target;
    let handle: FileHandle;
    try {
      handle = await open(out, 'wx', 0o644);
    } catch (error) {
      throw fromFsError(error, out, 'create');
    }
    try {
      const prefix = headerPrefix(json, roundUp(json.byteLength));
      await writeAll(handle, prefix, 0);
      let at = prefix.byteLength;
      if (this.offset > 0) {
        const stream = createReadStream(this.dataPath, { start: this.dataStart, end: this.dataStart + this.offset - 1 });
        for await (const chunk of stream) {
          await writeAll(handle, chunk as Buffer, at);
          at += (chunk as Buffer).byteLength;
        }
      }
      await handle.sync();
    } catch (error) {
      throw fromFsError(error, out, 'write');
    } finally {
      await handle.close();
    }
    if (this.reserved > 0) {
      try {
        await rename(out, this.target);
      } catch (error) {
        throw fromFsError(error, this.target, 'write');
      }
    } else {
      await rm(this.dataPath, { force: true });
    }
    this.done = true;
  }

  /** Closes and removes every file this writer made (the target too, when it is unfinished). */
  async abort(): Promise<void> {
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
    if (this.done) return;
    this.done = true;
    await rm(this.dataPath, { force: true });
    if (this.reserved > 0) await rm(`${this.target}.rewrite`, { force: true });
  }
}

/** The 8-byte length and the header JSON, space-padded to `length` bytes. */
function headerPrefix(json: Uint8Array, length: number): Uint8Array {
  const prefix = new Uint8Array(8 + length).fill(0x20, 8 + json.byteLength);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(length), true);
  prefix.set(json, 8);
  return prefix;
}

/** Writes all of `bytes` at `position` (positional writes: the file position is not used). */
async function writeAll(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let written = 0;
  while (written < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, written, bytes.byteLength - written, position + written);
    written += bytesWritten;
  }
}

/** Checks an export module's factor shapes against each other and its layout. */
export function validateExportModule(module: ExportModule, allowNonFinite: boolean): void {
  const { A, B, name } = module;
  const bad = (why: string): WorkbenchError =>
    new WorkbenchError('ADAPTER_SHAPE_INVALID', `export: module "${name}": ${why}`, {
      details: { module: name, shapeA: [A.rows, A.cols], shapeB: [B.rows, B.cols] },
    });
  if (A.rows !== B.cols) {
    throw new WorkbenchError('ADAPTER_RANK_MISMATCH', `export: module "${name}": A is ${A.rows}×${A.cols} but B is ${B.rows}×${B.cols}`, {
      details: { module: name, rankA: A.rows, rankB: B.cols },
    });
  }
  if (A.rows === 0 || A.cols === 0 || B.rows === 0) throw bad('empty factor');
  if (A.data.length !== A.rows * A.cols || B.data.length !== B.rows * B.cols) throw bad('factor data length does not match its shape');
  if (!Number.isFinite(module.scale)) throw bad(`scale ${module.scale} is not finite`);
  if (module.layout.kind === 'conv') {
    const k = module.layout.kernel.reduce((a, b) => a * b, 1);
    if (k <= 0 || A.cols % k !== 0) throw bad(`in_features ${A.cols} is not a multiple of the kernel size ${module.layout.kernel.join('×')}`);
  }
  if (module.doraMagnitude && module.doraMagnitude.length !== B.rows) {
    throw bad(`DoRA magnitude has ${module.doraMagnitude.length} values, expected ${B.rows}`);
  }
  if (!allowNonFinite) {
    const count = countNonFinite(A.data) + countNonFinite(B.data);
    if (count > 0) {
      throw new WorkbenchError('ADAPTER_NONFINITE', `export: module "${name}" has ${count} non-finite value(s)`, {
        details: { module: name, count },
      });
    }
  }
}

/** Stored shapes of A and B for a layout (conv: A r×in×k…, B m×r×1…). */
export function storedShapes(module: ExportModule): { shapeA: number[]; shapeB: number[] } {
  const { A, B, layout } = module;
  if (layout.kind === 'conv') {
    const k = layout.kernel.reduce((a, b) => a * b, 1);
    return { shapeA: [A.rows, A.cols / k, ...layout.kernel], shapeB: [B.rows, B.cols, ...layout.kernel.map(() => 1)] };
  }
  return { shapeA: [A.rows, A.cols], shapeB: [B.rows, B.cols] };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function encode(dtype: ExportDType, values: Float64Array, factor = 1): Uint8Array {
  if (factor === 1 && dtype === 'F32' && LITTLE_ENDIAN) {
    // One typed-array conversion (ToFloat32, round-half-even: the same bits as setFloat32).
    const out = new Float32Array(values.length);
    out.set(values);
    return new Uint8Array(out.buffer);
  }
  if (factor === 1) return encodeFloats(dtype, values);
  const scaled = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) scaled[i] = values[i]! * factor;
  return encodeFloats(dtype, scaled);
}

/** A growable byte buffer that encodeInto reuses, so that writing module after module allocates nothing. */
export class EncodeScratch {
  private buffer = new ArrayBuffer(0);

  /** A view of `bytes` bytes (valid until the next call). */
  take(bytes: number): ArrayBuffer {
    if (this.buffer.byteLength < bytes) this.buffer = new ArrayBuffer(Math.max(bytes, Math.ceil(this.buffer.byteLength * 1.5)));
    return this.buffer;
  }
}

const BF16_BLOCK = 1 << 13;
const bf16Block = new Float32Array(BF16_BLOCK);
const bf16BlockBits = new Uint32Array(bf16Block.buffer);

/**
 * floatToBf16 (src/dtype.ts) for a whole array, bit for bit: a block of values is rounded to f32 by one
 * typed-array set() (round-to-nearest-even), inexact ones are moved to round-to-odd, and then the
 * 16-bit round-to-nearest-even runs on the bits, with no call per element (bench: ~23 → ~3 ns/value).
 */
export function encodeBf16Bulk(values: Float64Array, out: Uint16Array): void {
  const n = values.length;
  for (let start = 0; start < n; start += BF16_BLOCK) {
    const count = Math.min(BF16_BLOCK, n - start);
    const block = values.subarray(start, start + count);
    bf16Block.set(block);
    for (let i = 0; i < count; i++) {
      let bits = bf16BlockBits[i]!;
      if ((bits & 0x7fffffff) > 0x7f800000) {
        out[start + i] = ((bits >>> 16) | 0x0040) & 0xffff; // NaN → quiet NaN
        continue;
      }
      // Double rounding (f64 → f32 → bf16) can only go wrong when the f32 lands exactly on a bf16
      // tie (low 16 bits 0x8000) after an inexact first rounding: then step toward the true value
      // (round-to-odd). Every other pattern rounds the same either way.
      if ((bits & 0xffff) === 0x8000) {
        const v = block[i]!;
        const r = bf16Block[i]!;
        if (r !== v) bits = Math.abs(r) > Math.abs(v) ? bits - 1 : bits + 1;
      }
      out[start + i] = ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
    }
  }
}

/**
 * The same bytes as encode(dtype, values), written into the scratch buffer: the result is a view
 * that the next encodeInto call overwrites (write it out before encoding the next tensor).
 */
export function encodeInto(dtype: ExportDType, values: Float64Array, scratch: EncodeScratch): Uint8Array {
  const n = values.length;
  const bytes = n * DTYPE_BYTES[dtype];
  const buffer = scratch.take(bytes);
  if (dtype === 'F32' && LITTLE_ENDIAN) {
    new Float32Array(buffer, 0, n).set(values);
    return new Uint8Array(buffer, 0, bytes);
  }
  if (dtype === 'BF16' && LITTLE_ENDIAN) {
    encodeBf16Bulk(values, new Uint16Array(buffer, 0, n));
    return new Uint8Array(buffer, 0, bytes);
  }
  const view = new DataView(buffer, 0, bytes);
  if (dtype === 'F32') for (let i = 0; i < n; i++) view.setFloat32(i * 4, values[i]!, true);
  else if (dtype === 'BF16') for (let i = 0; i < n; i++) view.setUint16(i * 2, floatToBf16(values[i]!), true);
  else for (let i = 0; i < n; i++) view.setUint16(i * 2, floatToHalf(values[i]!), true);
  return new Uint8Array(buffer, 0, bytes);
}

export function checkExportDType(dtype: string): ExportDType {
  if (!(EXPORT_DTYPES as readonly string[]).includes(dtype)) {
    throw new WorkbenchError('INVALID_ARGUMENT', `dtype "${dtype}" cannot be written; choose one of ${EXPORT_DTYPES.join(', ')}`, {
      details: { dtype, allowed: EXPORT_DTYPES },
    });
  }
  return dtype as ExportDType;
}

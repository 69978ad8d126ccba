// Shared by the exporters: a safetensors file written in one pass without holding every
// tensor in memory. Tensor bytes go to a scratch file as they arrive; the header (which
// needs every shape and offset) is written at the end, followed by a copy of the scratch.
import { open, rm, type FileHandle } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { WorkbenchError, fromFsError } from '../errors.ts';
import { DTYPE_BYTES, encodeFloats, type DType, type FloatDType } from '../dtype.ts';
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
}

interface Entry {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly start: number;
  readonly end: number;
}

export class StreamingSafetensorsWriter {
  private readonly entries = new Map<string, Entry>();
  private offset = 0;

  private constructor(
    private readonly target: string,
    private readonly scratchPath: string,
    private scratch: FileHandle | undefined,
  ) {}

  static async create(target: string): Promise<StreamingSafetensorsWriter> {
    const scratchPath = `${target}.data`;
    try {
      return new StreamingSafetensorsWriter(target, scratchPath, await open(scratchPath, 'wx', 0o644));
    } catch (error) {
      throw fromFsError(error, scratchPath, 'create');
    }
  }

  get tensorCount(): number {
    return this.entries.size;
  }

  async add(name: string, dtype: DType, shape: readonly number[], bytes: Uint8Array): Promise<void> {
    if (this.entries.has(name) || name === '__metadata__') {
      throw new WorkbenchError('INVALID_ARGUMENT', `cannot write two tensors named "${name}"`, { details: { tensor: name } });
    }
    const expected = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    if (expected !== bytes.byteLength) {
      throw new WorkbenchError('INTERNAL', `tensor "${name}": shape [${shape.join(', ')}] ${dtype} needs ${expected} bytes, got ${bytes.byteLength}`);
    }
    let written = 0;
    try {
      while (written < bytes.byteLength) {
        const { bytesWritten } = await this.scratch!.write(bytes, written, bytes.byteLength - written);
        written += bytesWritten;
      }
    } catch (error) {
      throw fromFsError(error, this.scratchPath, 'write');
    }
    this.entries.set(name, { dtype, shape: [...shape], start: this.offset, end: this.offset + bytes.byteLength });
    this.offset += bytes.byteLength;
  }

  /** Writes header + data to the target, fsyncs it, removes the scratch file. */
  async finish(metadata: Readonly<Record<string, string>>): Promise<void> {
    const header: Record<string, unknown> = {};
    if (Object.keys(metadata).length > 0) {
      header.__metadata__ = Object.fromEntries(Object.entries(metadata).sort(([a], [b]) => (a < b ? -1 : 1)));
    }
    for (const [name, e] of this.entries) {
      header[name] = { dtype: e.dtype, shape: e.shape, data_offsets: [e.start, e.end] };
    }
    const encoder = new TextEncoder();
    let json = JSON.stringify(header);
    json += ' '.repeat((ALIGNMENT_BYTES - (encoder.encode(json).byteLength % ALIGNMENT_BYTES)) % ALIGNMENT_BYTES);
    const headerBytes = encoder.encode(json);
    const prefix = new Uint8Array(8 + headerBytes.byteLength);
    new DataView(prefix.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
    prefix.set(headerBytes, 8);
    await this.scratch!.sync().catch(() => undefined);
    await this.scratch!.close();
    this.scratch = undefined;
    let out: FileHandle;
    try {
      out = await open(this.target, 'wx', 0o644);
    } catch (error) {
      throw fromFsError(error, this.target, 'create');
    }
    try {
      await writeAll(out, prefix);
      for await (const chunk of createReadStream(this.scratchPath)) {
        await writeAll(out, chunk as Buffer);
      }
      await out.sync();
    } catch (error) {
      throw fromFsError(error, this.target, 'write');
    } finally {
      await out.close();
    }
    await rm(this.scratchPath, { force: true });
  }

  async abort(): Promise<void> {
    await this.scratch?.close().catch(() => undefined);
    this.scratch = undefined;
    await rm(this.scratchPath, { force: true });
  }
}

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, written, bytes.byteLength - written);
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

export function encode(dtype: ExportDType, values: Float64Array, factor = 1): Uint8Array {
  if (factor === 1) return encodeFloats(dtype, values);
  const scaled = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) scaled[i] = values[i]! * factor;
  return encodeFloats(dtype, scaled);
}

export function checkExportDType(dtype: string): ExportDType {
  if (!(EXPORT_DTYPES as readonly string[]).includes(dtype)) {
    throw new WorkbenchError('INVALID_ARGUMENT', `dtype "${dtype}" cannot be written; choose one of ${EXPORT_DTYPES.join(', ')}`, {
      details: { dtype, allowed: EXPORT_DTYPES },
    });
  }
  return dtype as ExportDType;
}

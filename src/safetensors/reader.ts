// Lazy safetensors access: opening reads only the header; a tensor is read with
// a positional read when it is asked for, and copied into an aligned typed array.
import { open, stat, type FileHandle } from 'node:fs/promises';
import { WorkbenchError, fromFsError } from '../errors.ts';
import { decodeToFloat } from '../dtype.ts';
import { N_LEN, parseHeader, readHeaderLength, type SafetensorsHeader, type TensorInfo } from './header.ts';

/** A lazy map of tensors: one file, a sharded checkpoint, or bytes in memory. */
export interface TensorSource {
  /** Where the tensors come from (a path, or a label for in-memory sources). */
  readonly label: string;
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly metadata: Readonly<Record<string, string>>;
  has(name: string): boolean;
  info(name: string): TensorInfo;
  /** The stored little-endian bytes of one tensor, as a fresh copy. */
  readBytes(name: string): Promise<Uint8Array>;
  readFloat32(name: string): Promise<Float32Array>;
  readFloat64(name: string): Promise<Float64Array>;
  close(): Promise<void>;
}

function elementCount(info: TensorInfo): number {
  return info.shape.reduce((a, b) => a * b, 1);
}

abstract class BaseSource implements TensorSource {
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly metadata: Readonly<Record<string, string>>;

  protected constructor(
    readonly label: string,
    protected readonly header: SafetensorsHeader,
  ) {
    this.tensors = new Map(header.tensors.map((t) => [t.name, t]));
    this.metadata = header.metadata;
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  info(name: string): TensorInfo {
    const found = this.tensors.get(name);
    if (!found) {
      throw new WorkbenchError('ST_TENSOR_NOT_FOUND', `${this.label}: no tensor named "${name}"`, {
        details: { file: this.label, tensor: name },
      });
    }
    return found;
  }

  abstract readBytes(name: string): Promise<Uint8Array>;
  abstract close(): Promise<void>;

  async readFloat32(name: string): Promise<Float32Array> {
    const info = this.info(name);
    const bytes = await this.readBytes(name);
    return decodeToFloat(info.dtype, bytes, new Float32Array(elementCount(info)));
  }

  async readFloat64(name: string): Promise<Float64Array> {
    const info = this.info(name);
    const bytes = await this.readBytes(name);
    return decodeToFloat(info.dtype, bytes, new Float64Array(elementCount(info)));
  }
}

export class SafetensorsFile extends BaseSource {
  private constructor(
    readonly path: string,
    readonly sizeBytes: number,
    header: SafetensorsHeader,
    private handle: FileHandle | undefined,
  ) {
    super(path, header);
  }

  static async open(path: string): Promise<SafetensorsFile> {
    let handle: FileHandle;
    let size: number;
    try {
      handle = await open(path, 'r');
      size = (await handle.stat()).size;
    } catch (error) {
      throw fromFsError(error, path, 'open safetensors');
    }
    try {
      const prefix = new Uint8Array(Math.min(N_LEN, size));
      await handle.read(prefix, 0, prefix.byteLength, 0);
      const headerBytes = readHeaderLength(prefix, size, path);
      const json = new Uint8Array(headerBytes);
      await handle.read(json, 0, headerBytes, N_LEN);
      const header = parseHeader(json, size, path);
      return new SafetensorsFile(path, size, header, handle);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  get dataStart(): number {
    return N_LEN + this.header.headerBytes;
  }

  async readBytes(name: string): Promise<Uint8Array> {
    const info = this.info(name);
    if (!this.handle) {
      throw new WorkbenchError('IO_ERROR', `${this.path}: file is closed`, { details: { file: this.path } });
    }
    const [start, stop] = info.dataOffsets;
    const out = new Uint8Array(stop - start);
    let done = 0;
    while (done < out.byteLength) {
      const { bytesRead } = await this.handle.read(out, done, out.byteLength - done, this.dataStart + start + done);
      if (bytesRead === 0) {
        throw new WorkbenchError('IO_ERROR', `${this.path}: file shrank while reading "${name}"`, {
          details: { file: this.path, tensor: name },
          permanent: false,
        });
      }
      done += bytesRead;
    }
    return out;
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }
}

export class SafetensorsBytes extends BaseSource {
  private constructor(
    label: string,
    header: SafetensorsHeader,
    private readonly bytes: Uint8Array,
  ) {
    super(label, header);
  }

  static parse(bytes: Uint8Array, label = '<memory>'): SafetensorsBytes {
    const headerBytes = readHeaderLength(bytes.subarray(0, N_LEN), bytes.byteLength, label);
    const header = parseHeader(bytes.subarray(N_LEN, N_LEN + headerBytes), bytes.byteLength, label);
    return new SafetensorsBytes(label, header, bytes);
  }

  async readBytes(name: string): Promise<Uint8Array> {
    const info = this.info(name);
    const start = N_LEN + this.header.headerBytes + info.dataOffsets[0];
    return this.bytes.slice(start, N_LEN + this.header.headerBytes + info.dataOffsets[1]);
  }

  async close(): Promise<void> {}
}

export async function openSafetensors(path: string): Promise<SafetensorsFile> {
  return SafetensorsFile.open(path);
}

export function parseSafetensors(bytes: Uint8Array, label?: string): SafetensorsBytes {
  return SafetensorsBytes.parse(bytes, label);
}

export async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    throw fromFsError(error, path, 'stat');
  }
}

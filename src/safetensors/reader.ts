// Lazy safetensors access: opening reads only the 8-byte length and the header; a tensor is
// read with positional reads when it is asked for, into a fresh (hence aligned) buffer, so a
// tensor at an unaligned offset is decoded like any other.
import { open, stat, type FileHandle } from 'node:fs/promises';
import { WorkbenchError, fromFsError } from '../errors.ts';
import { decodeToFloat, isDecodableDType } from '../dtype.ts';
import { DEFAULT_HEADER_LIMITS, N_LEN, parseHeader, readHeaderLength, type HeaderLimits, type SafetensorsHeader, type TensorInfo } from './header.ts';

/** A lazy map of tensors: one file, a sharded checkpoint, or bytes in memory. */
export interface TensorSource {
  /** Where the tensors come from (a path, or a label for in-memory sources). */
  readonly label: string;
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly metadata: Readonly<Record<string, string>>;
  /** Accepted oddities found while parsing (e.g. unknown fields in a tensor entry). */
  readonly warnings?: readonly string[];
  has(name: string): boolean;
  info(name: string): TensorInfo;
  /** The stored little-endian bytes of one tensor, as a fresh copy. */
  readBytes(name: string): Promise<Uint8Array>;
  readFloat32(name: string): Promise<Float32Array>;
  /** Decoded to f64; into `out` when given (it must hold exactly the tensor's element count). */
  readFloat64(name: string, out?: Float64Array): Promise<Float64Array>;
  close(): Promise<void>;
}

/**
 * Reused byte buffers for reads that are decoded right away (and for read-ahead windows). First-
 * touching fresh memory costs ~3–5 ms per MB on this kind of host (substrate.md, bench/merge), more
 * than reading the same bytes from the page cache; a merge reads every factor of every module once,
 * so fresh buffers per read cost more than the reads. Buffers are taken and returned explicitly, so
 * concurrent reads never share one. POOL_LIMIT bounds what stays allocated between reads.
 */
const POOL_LIMIT = 4;
const bytePool: Uint8Array[] = [];

function takeBytes(length: number): Uint8Array {
  let best = -1;
  for (let i = 0; i < bytePool.length; i++) {
    const cap = bytePool[i]!.byteLength;
    if (cap >= length && (best < 0 || cap < bytePool[best]!.byteLength)) best = i;
  }
  if (best < 0) return new Uint8Array(length);
  const buf = bytePool.splice(best, 1)[0]!;
  return buf.byteLength === length ? buf : buf.subarray(0, length);
}

function giveBytes(bytes: Uint8Array): void {
  if (bytePool.some((b) => b.buffer === bytes.buffer)) return;
  bytePool.push(new Uint8Array(bytes.buffer, 0, bytes.buffer.byteLength));
  if (bytePool.length > POOL_LIMIT) {
    // Keep the largest buffers: they serve every smaller request.
    bytePool.sort((a, b) => b.byteLength - a.byteLength);
    bytePool.length = POOL_LIMIT;
  }
}

/** Largest single positional read; bigger tensors are read in pieces (libuv caps one read near 2 GiB). */
const READ_CHUNK_BYTES = 1 << 30;

/**
 * Tensors up to this size are served from a read-ahead window, so that a LoRA file of thousands
 * of small tensors read in order costs a few large reads instead of one read per tensor
 * (bench/io: ~40× slower than fs without it). Memory held: one window (≤ 1 MiB) per open file, from the byte pool.
 */
const READ_AHEAD_MAX_TENSOR_BYTES = 256 * 1024;
const READ_AHEAD_MIN_BYTES = 256 * 1024;
const READ_AHEAD_MAX_BYTES = 1024 * 1024;

export function elementCount(info: TensorInfo): number {
  return info.shape.reduce((a, b) => a * b, 1);
}

function assertDecodable(info: TensorInfo, label: string): void {
  if (!isDecodableDType(info.dtype)) {
    throw new WorkbenchError('ST_DTYPE_UNSUPPORTED', `${label}: tensor "${info.name}" has dtype ${info.dtype}, which cannot be decoded to floats`, {
      details: { file: label, tensor: info.name, dtype: info.dtype },
    });
  }
}

/** Shared lookup and decoding; subclasses supply the bytes. */
export abstract class BaseTensorSource implements TensorSource {
  abstract readonly label: string;
  abstract readonly tensors: ReadonlyMap<string, TensorInfo>;
  abstract readonly metadata: Readonly<Record<string, string>>;

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

  /** Reads the stored bytes of `name` into `target` (exactly the tensor's byte length). */
  protected async readBytesInto(name: string, target: Uint8Array): Promise<void> {
    target.set(await this.readBytes(name));
  }

  async readFloat32(name: string): Promise<Float32Array> {
    const info = this.info(name);
    assertDecodable(info, this.label);
    const out = new Float32Array(elementCount(info));
    if (info.dtype === 'F32') {
      await this.readBytesInto(name, new Uint8Array(out.buffer));
      return out;
    }
    return decodeToFloat(info.dtype, await this.readBytes(name), out);
  }

  async readFloat64(name: string, into?: Float64Array): Promise<Float64Array> {
    const info = this.info(name);
    assertDecodable(info, this.label);
    const count = elementCount(info);
    if (into !== undefined && into.length !== count) {
      throw new WorkbenchError('INTERNAL', `${this.label}: tensor "${name}" has ${count} values but the target holds ${into.length}`, {
        details: { file: this.label, tensor: name, count, target: into.length },
      });
    }
    const out = into ?? new Float64Array(count);
    if (info.dtype === 'F64') {
      await this.readBytesInto(name, new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
      return out;
    }
    // The stored bytes only live until decoded: a pooled buffer (never shared by concurrent reads).
    const bytes = takeBytes(info.dataOffsets[1] - info.dataOffsets[0]);
    try {
      await this.readBytesInto(name, bytes);
      return decodeToFloat(info.dtype, bytes, out);
    } finally {
      giveBytes(bytes);
    }
  }
}

interface ReadWindow {
  readonly start: number;
  readonly end: number;
  readonly buffer: Uint8Array;
  readonly bytes: Promise<Uint8Array>;
  /** Reads currently waiting to copy out of this window. */
  users: number;
}

function tensorMap(header: SafetensorsHeader): ReadonlyMap<string, TensorInfo> {
  return new Map(header.tensors.map((t) => [t.name, t]));
}

export class SafetensorsFile extends BaseTensorSource {
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly metadata: Readonly<Record<string, string>>;
  readonly warnings: readonly string[];

  private constructor(
    readonly path: string,
    readonly sizeBytes: number,
    readonly header: SafetensorsHeader,
    private handle: FileHandle | undefined,
  ) {
    super();
    this.tensors = tensorMap(header);
    this.metadata = header.metadata;
    this.warnings = header.warnings;
    let runEnd = 0;
    for (let i = header.tensors.length - 1; i >= 0; i--) {
      const t = header.tensors[i]!;
      const small = t.dataOffsets[1] - t.dataOffsets[0] <= READ_AHEAD_MAX_TENSOR_BYTES;
      if (!small) continue;
      const next = header.tensors[i + 1];
      const nextSmall = next !== undefined && next.dataOffsets[1] - next.dataOffsets[0] <= READ_AHEAD_MAX_TENSOR_BYTES;
      runEnd = nextSmall ? runEnd : t.dataOffsets[1];
      this.smallRunEnd.set(t.name, runEnd);
    }
  }

  get label(): string {
    return this.path;
  }

  static async open(path: string, limits: HeaderLimits = DEFAULT_HEADER_LIMITS): Promise<SafetensorsFile> {
    let handle: FileHandle;
    let size: number;
    try {
      handle = await open(path, 'r');
      const stats = await handle.stat();
      if (stats.isDirectory()) {
        await handle.close();
        throw Object.assign(new Error('is a directory, not a file'), { code: 'EISDIR' });
      }
      size = stats.size;
    } catch (error) {
      throw fromFsError(error, path, 'open safetensors');
    }
    try {
      const prefix = await readExactly(handle, Math.min(N_LEN, size), 0, path);
      const headerBytes = readHeaderLength(prefix, size, path, limits);
      const json = await readExactly(handle, headerBytes, N_LEN, path);
      const header = parseHeader(json, size, path, limits);
      return new SafetensorsFile(path, size, header, handle);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  get dataStart(): number {
    return N_LEN + this.header.headerBytes;
  }

  private openHandle(): FileHandle {
    if (!this.handle) {
      throw new WorkbenchError('IO_ERROR', `${this.path}: file is closed`, { details: { file: this.path } });
    }
    return this.handle;
  }

  async readBytes(name: string): Promise<Uint8Array> {
    const info = this.info(name);
    const out = new Uint8Array(info.dataOffsets[1] - info.dataOffsets[0]);
    await this.readBytesInto(name, out);
    return out;
  }

  /** For each small tensor, where the run of consecutive small tensors it starts ends. */
  private readonly smallRunEnd = new Map<string, number>();

  /**
   * The last window read (possibly still in flight): data-region offsets [start, end). Its buffer
   * comes from the byte pool and goes back once the window is replaced and no read still copies
   * out of it (`users`).
   */
  private window: ReadWindow | undefined;
  /** Where the previous small read stopped; a read starting there is sequential. */
  private lastStop = 0;
  /** Current read-ahead size: doubles while reads are sequential, resets on a jump. */
  private readAheadBytes = READ_AHEAD_MIN_BYTES;

  protected override async readBytesInto(name: string, target: Uint8Array): Promise<void> {
    const info = this.info(name);
    const [start, stop] = info.dataOffsets;
    const handle = this.openHandle();
    if (stop - start > READ_AHEAD_MAX_TENSOR_BYTES) {
      await fillFrom(handle, target, this.dataStart + start, this.path, name);
      return;
    }
    let window = this.window;
    if (!window || start < window.start || stop > window.end) {
      // Read ahead only when access is sequential, and only over the run of small tensors
      // that follows (never into a large one); a jump reads just the tensor.
      const sequential = start === this.lastStop;
      const runEnd = this.smallRunEnd.get(name) ?? stop;
      const length = sequential ? Math.max(stop - start, Math.min(this.readAheadBytes, runEnd - start)) : stop - start;
      this.readAheadBytes = sequential ? Math.min(this.readAheadBytes * 2, READ_AHEAD_MAX_BYTES) : READ_AHEAD_MIN_BYTES;
      const buffer = takeBytes(length);
      const created: ReadWindow = { start, end: start + length, buffer, users: 0, bytes: fillFrom(handle, buffer, this.dataStart + start, this.path, name).then(() => buffer) };
      created.bytes.catch(() => {
        if (this.window === created) this.window = undefined;
      });
      const previous = this.window;
      this.window = window = created;
      if (previous) this.releaseWindow(previous);
    }
    this.lastStop = stop;
    window.users++;
    try {
      const bytes = await window.bytes;
      target.set(bytes.subarray(start - window.start, stop - window.start));
    } finally {
      window.users--;
      this.releaseWindow(window);
    }
  }

  /** Returns a window's buffer to the pool once it is no longer current and nobody reads from it. */
  private releaseWindow(window: ReadWindow): void {
    if (window.users > 0 || window === this.window) return;
    // A failed read may still be writing into the buffer: let it go to the garbage collector.
    window.bytes.then(
      () => giveBytes(window.buffer),
      () => undefined,
    );
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    const window = this.window;
    this.window = undefined;
    if (window) this.releaseWindow(window);
    await handle?.close();
  }
}

/** Fills `target` from `position` with as many positional reads as it takes. */
async function fillFrom(handle: FileHandle, target: Uint8Array, position: number, path: string, tensor?: string): Promise<void> {
  let done = 0;
  while (done < target.byteLength) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(target, done, Math.min(READ_CHUNK_BYTES, target.byteLength - done), position + done));
    } catch (error) {
      throw fromFsError(error, path, 'read safetensors');
    }
    if (bytesRead === 0) {
      throw new WorkbenchError('IO_ERROR', `${path}: the file shrank while reading${tensor === undefined ? '' : ` "${tensor}"`}`, {
        details: { file: path, tensor: tensor ?? null },
        permanent: false,
      });
    }
    done += bytesRead;
  }
}

async function readExactly(handle: FileHandle, length: number, position: number, path: string): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  await fillFrom(handle, out, position, path);
  return out;
}

export class SafetensorsBytes extends BaseTensorSource {
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly metadata: Readonly<Record<string, string>>;
  readonly warnings: readonly string[];

  private constructor(
    readonly label: string,
    readonly header: SafetensorsHeader,
    private readonly bytes: Uint8Array,
  ) {
    super();
    this.tensors = tensorMap(header);
    this.metadata = header.metadata;
    this.warnings = header.warnings;
  }

  static parse(bytes: Uint8Array, label = '<memory>', limits: HeaderLimits = DEFAULT_HEADER_LIMITS): SafetensorsBytes {
    const headerBytes = readHeaderLength(bytes.subarray(0, N_LEN), bytes.byteLength, label, limits);
    const header = parseHeader(bytes.subarray(N_LEN, N_LEN + headerBytes), bytes.byteLength, label, limits);
    return new SafetensorsBytes(label, header, bytes);
  }

  async readBytes(name: string): Promise<Uint8Array> {
    const info = this.info(name);
    const start = N_LEN + this.header.headerBytes;
    return this.bytes.slice(start + info.dataOffsets[0], start + info.dataOffsets[1]);
  }

  async close(): Promise<void> {}
}

/** Opens a .safetensors file lazily: only the header is read now. */
export async function openSafetensors(path: string, limits?: HeaderLimits): Promise<SafetensorsFile> {
  return SafetensorsFile.open(path, limits);
}

/** Parses safetensors bytes already in memory; `label` names them in error messages. */
export function parseSafetensors(bytes: Uint8Array, label?: string, limits?: HeaderLimits): SafetensorsBytes {
  return SafetensorsBytes.parse(bytes, label, limits);
}

export async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    throw fromFsError(error, path, 'stat');
  }
}

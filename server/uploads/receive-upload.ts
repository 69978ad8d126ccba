// Streams a multipart upload into a private staging folder: busboy with every
// limit set, sha256 while writing, the safetensors header judged as soon as
// its bytes arrive, and on every failure path the streams stopped, the request
// drained (bounded), and the staging folder removed.
import busboy from 'busboy';
import type { Request } from 'express';
import type { Readable } from 'node:stream';
import { statfs } from 'node:fs/promises';
import { HttpError } from '../errors.ts';
import { isWorkbenchError } from '../../src/errors.ts';
import type { BlobStore, ObjectFile, StagedFile } from '../storage/blob-store.ts';
import { headerBytesNeeded, validateSafetensorsHeader } from '../engine.ts';
import { DISK_RESERVE_BYTES, MAX_UPLOAD_FIELD_BYTES, MAX_UPLOAD_FIELDS, MAX_UPLOAD_HEADER_PAIRS } from '../limits.ts';
import { sanitizeLabel } from './sanitize-label.ts';

export interface UploadLimits {
  readonly maxBytes: number;
  readonly maxFiles: number;
  readonly maxParts: number;
}

/** What to do with one incoming file: store under a server-chosen name, or skip it. */
export type UploadDecision = { readonly storedName: string; readonly sniffSafetensors: boolean; readonly maxBytes?: number } | 'skip';

export interface ReceivedFile extends ObjectFile {
  /** Sanitised client file name (display only). */
  readonly label: string;
}

export interface ReceivedUpload {
  readonly staging: string;
  readonly files: readonly ReceivedFile[];
  readonly skipped: readonly string[];
  readonly fields: Readonly<Record<string, string>>;
}

export interface ReceiveOptions {
  readonly blobs: BlobStore;
  readonly limits: UploadLimits;
  /** Called per file with its sanitised label and the files accepted so far. */
  readonly decide: (label: string, accepted: readonly string[]) => UploadDecision;
  /** Free bytes on the data disk (injectable for tests). */
  readonly freeBytes?: (path: string) => Promise<number>;
}

async function defaultFreeBytes(path: string): Promise<number> {
  const s = await statfs(path);
  return s.bavail * s.bsize;
}

function isDiskFull(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || (isWorkbenchError(error) && error.code === 'DISK_FULL');
}

const DRAIN_LIMIT_MS = 2000;

export async function receiveUpload(req: Request, options: ReceiveOptions): Promise<ReceivedUpload> {
  const { blobs, limits } = options;
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data/i.test(type)) {
    throw new HttpError('UNSUPPORTED_MEDIA_TYPE', `uploads must be multipart/form-data, got ${JSON.stringify(type.split(';')[0] ?? '')}`, {
      contentType: type.split(';')[0] ?? '',
    });
  }
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limits.maxBytes + 64 * 1024) {
    throw new HttpError('UPLOAD_TOO_LARGE', `the upload declares ${declared} bytes; the limit is ${limits.maxBytes}`, {
      declaredBytes: declared,
      limitBytes: limits.maxBytes,
    });
  }
  if (Number.isFinite(declared)) {
    const free = await (options.freeBytes ?? defaultFreeBytes)(blobs.root).catch(() => Number.POSITIVE_INFINITY);
    if (free < declared + DISK_RESERVE_BYTES) {
      throw new HttpError('INSUFFICIENT_STORAGE', `the server has ${free} bytes free; this upload needs ${declared} plus a reserve`, {
        freeBytes: free,
        declaredBytes: declared,
      });
    }
  }
  let bb: busboy.Busboy;
  try {
    bb = busboy({
      headers: req.headers,
      defParamCharset: 'utf8',
      limits: {
        fileSize: limits.maxBytes,
        files: limits.maxFiles,
        parts: limits.maxParts,
        fields: MAX_UPLOAD_FIELDS,
        fieldSize: MAX_UPLOAD_FIELD_BYTES,
        fieldNameSize: 100,
        headerPairs: MAX_UPLOAD_HEADER_PAIRS,
      },
    });
  } catch (error) {
    throw new HttpError('MALFORMED_MULTIPART', `the multipart body cannot be parsed: ${(error as Error).message}`, {});
  }

  const staging = await blobs.stage();
  const files: ReceivedFile[] = [];
  const skipped: string[] = [];
  /** Names already promised to earlier files (decided before they finish streaming). */
  const decided: string[] = [];
  const fields: Record<string, string> = {};
  const open = new Set<StagedFile>();
  const streams = new Set<Readable>();
  const pending: Promise<void>[] = [];
  let total = 0;
  let failure: unknown;
  let finished = false;

  return new Promise<ReceivedUpload>((resolve, reject) => {
    const cleanup = async (): Promise<void> => {
      for (const s of streams) s.resume();
      await Promise.allSettled([...open].map((f) => f.close()));
      await blobs.discard(staging).catch(() => {});
    };
    const fail = (error: unknown): void => {
      if (failure !== undefined || finished) return;
      failure = isDiskFull(error)
        ? new HttpError('INSUFFICIENT_STORAGE', 'the server disk filled up while storing the upload; nothing was kept', {})
        : error;
      req.unpipe(bb);
      bb.removeAllListeners('file');
      bb.on('error', () => {});
      void (async () => {
        await cleanup();
        // Let the client finish sending (bounded), so it reads our answer instead of a reset.
        if (!req.complete && !req.destroyed) {
          await new Promise<void>((done) => {
            const timer = setTimeout(done, DRAIN_LIMIT_MS);
            timer.unref();
            req.once('end', () => {
              clearTimeout(timer);
              done();
            });
            req.once('close', () => {
              clearTimeout(timer);
              done();
            });
            req.resume();
          });
        }
        reject(failure);
      })();
    };

    req.on('aborted', () => fail(new HttpError('UPLOAD_ABORTED', 'the client closed the connection mid-upload', {})));
    req.on('close', () => {
      if (!req.complete) fail(new HttpError('UPLOAD_ABORTED', 'the client closed the connection mid-upload', {}));
    });
    req.on('error', (error) => fail(new HttpError('UPLOAD_ABORTED', `the upload stream failed: ${error.message}`, {})));
    bb.on('error', (error: Error) => fail(new HttpError('MALFORMED_MULTIPART', `the multipart body cannot be parsed: ${error.message}`, {})));
    bb.on('partsLimit', () => fail(new HttpError('UPLOAD_TOO_MANY_PARTS', `more than ${limits.maxParts} parts in one upload`, { limit: limits.maxParts })));
    bb.on('filesLimit', () => fail(new HttpError('UPLOAD_TOO_MANY_PARTS', `more than ${limits.maxFiles} files in one upload`, { limit: limits.maxFiles })));
    bb.on('fieldsLimit', () => fail(new HttpError('UPLOAD_TOO_MANY_PARTS', `more than ${MAX_UPLOAD_FIELDS} fields in one upload`, { limit: MAX_UPLOAD_FIELDS })));
    bb.on('field', (name: string, value: string, info: { valueTruncated: boolean }) => {
      if (info.valueTruncated) {
        fail(new HttpError('VALIDATION_FAILED', `field "${sanitizeLabel(name, '?')}" is over ${MAX_UPLOAD_FIELD_BYTES} bytes`, {}));
        return;
      }
      if (name === 'name') fields.name = value;
    });
    bb.on('file', (_field: string, stream: Readable & { truncated?: boolean }, info: { filename?: string }) => {
      streams.add(stream);
      stream.on('error', (error) => fail(new HttpError('MALFORMED_MULTIPART', `a file part failed: ${error.message}`, {})));
      if (failure !== undefined) {
        stream.resume();
        return;
      }
      const label = sanitizeLabel(info.filename, `file-${files.length + skipped.length + 1}`);
      let decision: UploadDecision;
      try {
        decision = options.decide(label, decided);
      } catch (error) {
        stream.resume();
        fail(error);
        return;
      }
      if (decision === 'skip') {
        skipped.push(label);
        stream.resume();
        return;
      }
      const d = decision;
      decided.push(d.storedName);
      stream.on('limit', () =>
        fail(new HttpError('UPLOAD_TOO_LARGE', `file "${label}" is over the ${limits.maxBytes}-byte upload limit`, { file: label, limitBytes: limits.maxBytes })),
      );
      pending.push(
        (async () => {
          let staged: StagedFile | undefined;
          try {
            staged = await blobs.createFile(staging, d.storedName);
            open.add(staged);
            let prefix = Buffer.alloc(0);
            let needed: number | undefined;
            let headerChecked = !d.sniffSafetensors;
            for await (const chunk of stream) {
              if (failure !== undefined) return;
              const buf = chunk as Buffer;
              total += buf.byteLength;
              if (total > limits.maxBytes) {
                throw new HttpError('UPLOAD_TOO_LARGE', `the upload is over the ${limits.maxBytes}-byte limit`, { limitBytes: limits.maxBytes });
              }
              if (d.maxBytes !== undefined && staged.bytesWritten + buf.byteLength > d.maxBytes) {
                throw new HttpError('UPLOAD_TOO_LARGE', `file "${label}" is over its ${d.maxBytes}-byte limit`, { file: label, limitBytes: d.maxBytes });
              }
              if (!headerChecked) {
                prefix = Buffer.concat([prefix, buf]);
                if (needed === undefined && prefix.byteLength >= 8) needed = headerBytesNeeded(prefix, label);
                if (needed !== undefined && prefix.byteLength >= needed) {
                  sniffHeader(prefix.subarray(0, needed), label, limits.maxBytes);
                  headerChecked = true;
                  prefix = Buffer.alloc(0);
                }
              }
              await staged.write(buf);
            }
            if (failure !== undefined) return;
            if (stream.truncated) throw new HttpError('UPLOAD_TOO_LARGE', `file "${label}" is over the upload limit`, { file: label });
            const entry = await staged.finish();
            open.delete(staged);
            files.push({ ...entry, label });
          } catch (error) {
            stream.resume();
            fail(error);
          }
        })(),
      );
    });
    bb.on('close', () => {
      void Promise.all(pending).then(() => {
        if (failure !== undefined) return;
        finished = true;
        if (files.length === 0) {
          void cleanup().then(() => reject(new HttpError('UPLOAD_EMPTY', 'the upload holds no adapter file (.safetensors or adapter_config.json)', { skipped })));
          return;
        }
        resolve({ staging, files, skipped, fields });
      });
    });
    req.pipe(bb);
  });
}

/** Early header check: everything the header alone decides, with the file size still unknown. */
function sniffHeader(prefix: Uint8Array, label: string, maxBytes: number): void {
  try {
    const header = validateSafetensorsHeader(prefix, Number.MAX_SAFE_INTEGER, label);
    void header;
  } catch (error) {
    if (isWorkbenchError(error) && error.code === 'ST_DATA_SIZE_MISMATCH') {
      const declared = Number((error.details as { describedBytes?: unknown }).describedBytes ?? NaN);
      if (Number.isFinite(declared) && declared + prefix.byteLength > maxBytes) {
        throw new HttpError('UPLOAD_TOO_LARGE', `file "${label}" declares ${declared} data bytes; the limit is ${maxBytes}`, { file: label, limitBytes: maxBytes });
      }
      return;
    }
    throw error;
  }
}

// Multipart uploads through XMLHttpRequest, because fetch reports no upload progress.
import { ApiError, errorFromResponse } from './api-error.ts';
import { authHeaders } from './auth.ts';
import { apiUrl } from './client.ts';

export interface UploadProgress {
  readonly loadedBytes: number;
  readonly totalBytes: number;
}

export interface UploadHandle<T> {
  readonly done: Promise<T>;
  abort(): void;
}

export interface UploadRequest {
  /** API path, e.g. '/api/adapters'. */
  readonly path: string;
  /** Form field name of the files ('files' for adapters, 'file' for bases). */
  readonly fieldName: string;
  readonly files: readonly File[];
  /** Extra text fields, sent before the files so the server sees them first. */
  readonly fields?: Record<string, string>;
  readonly onProgress?: (progress: UploadProgress) => void;
}

/** Starts one multipart POST; `done` resolves with the parsed JSON or rejects with an ApiError. */
export function uploadMultipart<T>(req: UploadRequest): UploadHandle<T> {
  const xhr = new XMLHttpRequest();
  const form = new FormData();
  for (const [key, value] of Object.entries(req.fields ?? {})) form.append(key, value);
  for (const file of req.files) form.append(req.fieldName, file, file.name);
  const done = new Promise<T>((resolve, reject) => {
    xhr.open('POST', apiUrl(req.path));
    xhr.setRequestHeader('Accept', 'application/json');
    for (const [key, value] of Object.entries(authHeaders())) xhr.setRequestHeader(key, value);
    xhr.upload.onprogress = (event: ProgressEvent) => {
      if (event.lengthComputable) req.onProgress?.({ loadedBytes: event.loaded, totalBytes: event.total });
    };
    xhr.onload = () => {
      const text = xhr.responseText ?? '';
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve(JSON.parse(text) as T);
        } catch {
          reject(new ApiError('BAD_RESPONSE', 'The server accepted the upload but its answer was not JSON.', xhr.status));
        }
        return;
      }
      reject(errorFromResponse(xhr.status, xhr.statusText, text));
    };
    xhr.onerror = () =>
      reject(new ApiError('NETWORK_ERROR', 'The connection broke during the upload; nothing was stored.', 0));
    xhr.onabort = () => reject(new ApiError('REQUEST_ABORTED', 'The upload was cancelled.', 0));
    xhr.send(form);
  });
  return { done, abort: () => xhr.abort() };
}

/**
 * Splits the request's uploaded byte count over its files, in the order they were appended:
 * multipart sends files one after another, so file i is complete once the count passes its end.
 * Returns a fraction in [0, 1] per file. Form overhead is spread proportionally.
 */
export function perFileFractions(sizes: readonly number[], loadedBytes: number, totalBytes: number): number[] {
  const payload = sizes.reduce((a, b) => a + b, 0);
  if (payload === 0) return sizes.map(() => (totalBytes > 0 && loadedBytes >= totalBytes ? 1 : 0));
  const scaled = totalBytes > 0 ? (loadedBytes / totalBytes) * payload : 0;
  let start = 0;
  return sizes.map((size) => {
    const fraction = size === 0 ? (scaled >= start ? 1 : 0) : Math.min(1, Math.max(0, (scaled - start) / size));
    start += size;
    return fraction;
  });
}

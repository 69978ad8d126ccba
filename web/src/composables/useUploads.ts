// The upload queue: one item per adapter (folder or loose weights file), per-file progress and
// per-file errors. Shared, so uploads continue while the user moves between pages.
import { reactive, readonly } from 'vue';
import { toApiError, type ApiError } from '../api/api-error.ts';
import { perFileFractions, uploadMultipart, type UploadHandle } from '../api/upload.ts';
import type { AdapterUploadResultDto } from '../api/types.ts';
import { groupUploadFiles, type PickedFile, type UploadGroup } from '../utils/upload-groups.ts';
import { useAdapters } from './useAdapters.ts';

export type UploadState = 'queued' | 'uploading' | 'processing' | 'done' | 'duplicate' | 'failed' | 'cancelled' | 'skipped';

export interface FileError {
  readonly code: string;
  readonly message: string;
  readonly requestId?: string | undefined;
}

export interface UploadFileState {
  readonly name: string;
  readonly sizeBytes: number;
  fraction: number;
  error: FileError | null;
}

export interface UploadItem {
  readonly key: number;
  readonly name: string;
  readonly files: UploadFileState[];
  state: UploadState;
  /** An error that concerns the whole upload rather than one file. */
  error: FileError | null;
  adapterId: string | null;
}

/** Concurrent requests: enough to overlap server-side loading with the next transfer. */
const MAX_PARALLEL_UPLOADS = 2;

const items = reactive<UploadItem[]>([]);
const handles = new Map<number, UploadHandle<AdapterUploadResultDto>>();
const sources = new Map<number, UploadGroup>();
let nextKey = 1;

function toFileError(e: ApiError): FileError {
  return { code: e.code, message: e.message, requestId: e.requestId };
}

/**
 * Which file an error is about: the file whose name appears in the error's details
 * (file, name, filename, path…) or in its message. −1 when none is named.
 */
export function fileIndexForError(fileNames: readonly string[], error: { message: string; details?: Record<string, unknown> }): number {
  if (fileNames.length === 1) return 0;
  const values = Object.values(error.details ?? {}).filter((v): v is string => typeof v === 'string');
  for (const value of values) {
    const i = fileNames.findIndex((n) => value === n || value.endsWith(`/${n}`));
    if (i !== -1) return i;
  }
  const byMessage = fileNames.findIndex((n) => error.message.includes(n));
  return byMessage;
}

function pump(): void {
  const running = items.filter((i) => i.state === 'uploading' || i.state === 'processing').length;
  let free = MAX_PARALLEL_UPLOADS - running;
  for (const item of items) {
    if (free <= 0) break;
    if (item.state !== 'queued') continue;
    free -= 1;
    start(item);
  }
}

function start(item: UploadItem): void {
  const group = sources.get(item.key);
  if (!group) return;
  item.state = 'uploading';
  item.error = null;
  for (const f of item.files) {
    f.error = null;
    f.fraction = 0;
  }
  const sizes = group.files.map((f) => f.size);
  const handle = uploadMultipart<AdapterUploadResultDto>({
    path: '/api/adapters',
    fieldName: 'files',
    files: group.files,
    fields: { name: group.name },
    onProgress: ({ loadedBytes, totalBytes }) => {
      const fractions = perFileFractions(sizes, loadedBytes, totalBytes);
      fractions.forEach((fr, i) => {
        const f = item.files[i];
        if (f) f.fraction = fr;
      });
      if (loadedBytes >= totalBytes) item.state = 'processing';
    },
  });
  handles.set(item.key, handle);
  handle.done
    .then((result) => {
      for (const f of item.files) f.fraction = 1;
      item.adapterId = result.id;
      item.state = result.duplicate ? 'duplicate' : 'done';
      void useAdapters().refresh();
    })
    .catch((e: unknown) => {
      const error = toApiError(e);
      if (error.code === 'REQUEST_ABORTED') {
        item.state = 'cancelled';
        return;
      }
      item.state = 'failed';
      const index = fileIndexForError(
        item.files.map((f) => f.name),
        error,
      );
      const target = index === -1 ? undefined : item.files[index];
      if (target) target.error = toFileError(error);
      else item.error = toFileError(error);
    })
    .finally(() => {
      handles.delete(item.key);
      pump();
    });
}

function add(picked: readonly PickedFile[]): void {
  const { groups, skipped } = groupUploadFiles(picked);
  for (const group of groups) {
    const key = nextKey++;
    sources.set(key, group);
    items.unshift({
      key,
      name: group.name,
      files: group.files.map((f) => ({ name: f.name, sizeBytes: f.size, fraction: 0, error: null })),
      state: 'queued',
      error: null,
      adapterId: null,
    });
  }
  if (skipped.length > 0) {
    items.unshift({
      key: nextKey++,
      name: `${skipped.length} file(s) not sent`,
      files: skipped.map((s) => ({
        name: s.path,
        sizeBytes: picked.find((p) => p.path === s.path)?.file.size ?? 0,
        fraction: 0,
        error: { code: s.code, message: '' },
      })),
      state: 'skipped',
      error: null,
      adapterId: null,
    });
  }
  pump();
}

function cancel(key: number): void {
  const item = items.find((i) => i.key === key);
  if (!item) return;
  if (item.state === 'queued') item.state = 'cancelled';
  handles.get(key)?.abort();
}

function retry(key: number): void {
  const item = items.find((i) => i.key === key);
  if (!item || !sources.has(key)) return;
  item.state = 'queued';
  pump();
}

function dismiss(key: number): void {
  const index = items.findIndex((i) => i.key === key);
  if (index === -1) return;
  handles.get(key)?.abort();
  items.splice(index, 1);
  sources.delete(key);
}

function clearFinished(): void {
  for (const item of [...items]) {
    if (item.state !== 'queued' && item.state !== 'uploading' && item.state !== 'processing') dismiss(item.key);
  }
}

export function useUploads() {
  return { items: readonly(items), add, cancel, retry, dismiss, clearFinished };
}

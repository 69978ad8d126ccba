// Turns dropped or picked files into adapter uploads: one upload per folder that holds weights.

export interface PickedFile {
  /** Path relative to what was dropped, e.g. "gemma3-logo/adapter_model.safetensors". */
  readonly path: string;
  readonly file: File;
}

export interface UploadGroup {
  /** Display name: the folder's name, or the file name without extension for loose weights. */
  readonly name: string;
  readonly files: readonly File[];
}

export interface SkippedFile {
  readonly path: string;
  readonly code: 'FILE_TYPE_SKIPPED';
}

export interface GroupedUpload {
  readonly groups: readonly UploadGroup[];
  readonly skipped: readonly SkippedFile[];
}

/** Files the server takes as part of an adapter. */
export function isAdapterFile(name: string): boolean {
  const lower = name.toLowerCase();
  return lower.endsWith('.safetensors') || lower === 'adapter_config.json';
}

function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i === -1 ? '' : path.slice(0, i);
}

function basename(path: string): string {
  const i = path.lastIndexOf('/');
  return i === -1 ? path : path.slice(i + 1);
}

function stem(name: string): string {
  return name.replace(/\.safetensors$/i, '');
}

/**
 * Groups by folder: each folder with at least one .safetensors becomes one upload of its
 * .safetensors files and its adapter_config.json. Files dropped loose (no folder) form one upload
 * when an adapter_config.json is among them, else one upload per .safetensors file.
 * Everything else is listed as skipped with a reason code.
 */
export function groupUploadFiles(picked: readonly PickedFile[]): GroupedUpload {
  const skipped: SkippedFile[] = [];
  const byDir = new Map<string, File[]>();
  for (const { path, file } of picked) {
    const name = basename(path);
    if (!isAdapterFile(name)) {
      if (!name.startsWith('.')) skipped.push({ path, code: 'FILE_TYPE_SKIPPED' });
      continue;
    }
    const dir = dirname(path);
    const list = byDir.get(dir) ?? [];
    list.push(file);
    byDir.set(dir, list);
  }
  const groups: UploadGroup[] = [];
  const sortedDirs = [...byDir.keys()].sort();
  for (const dir of sortedDirs) {
    const files = byDir.get(dir) ?? [];
    const weights = files.filter((f) => f.name.toLowerCase().endsWith('.safetensors'));
    const configs = files.filter((f) => f.name.toLowerCase() === 'adapter_config.json');
    if (dir === '' && configs.length === 0) {
      for (const w of weights) groups.push({ name: stem(w.name), files: [w] });
      continue;
    }
    if (weights.length === 0) {
      // A config with no weights still goes up, so the server explains what is missing.
      groups.push({ name: dir ? basename(dir) : 'adapter_config', files });
      continue;
    }
    const name = dir ? basename(dir) : stem(weights[0]?.name ?? 'adapter');
    // The config first: the server can read it before the weights stream in.
    groups.push({ name, files: [...configs.slice(0, 1), ...weights] });
  }
  return { groups, skipped };
}

/** Reads a dropped DataTransfer, descending into folders (webkitGetAsEntry). */
export async function filesFromDataTransfer(dataTransfer: DataTransfer): Promise<PickedFile[]> {
  const entries: FileSystemEntry[] = [];
  const loose: PickedFile[] = [];
  for (const item of Array.from(dataTransfer.items ?? [])) {
    if (item.kind !== 'file') continue;
    const entry = typeof item.webkitGetAsEntry === 'function' ? item.webkitGetAsEntry() : null;
    if (entry) entries.push(entry);
    else {
      const file = item.getAsFile();
      if (file) loose.push({ path: file.name, file });
    }
  }
  if (entries.length === 0 && loose.length === 0) {
    return Array.from(dataTransfer.files ?? []).map((file) => ({ path: file.name, file }));
  }
  const out: PickedFile[] = [...loose];
  for (const entry of entries) await walkEntry(entry, '', out, 0);
  return out;
}

const MAX_FOLDER_DEPTH = 8;

async function walkEntry(entry: FileSystemEntry, prefix: string, out: PickedFile[], depth: number): Promise<void> {
  const path = prefix ? `${prefix}/${entry.name}` : entry.name;
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    out.push({ path, file });
    return;
  }
  if (!entry.isDirectory || depth >= MAX_FOLDER_DEPTH) return;
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  // readEntries returns at most ~100 entries per call; read until it answers an empty batch.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    for (const child of batch) await walkEntry(child, path, out, depth + 1);
  }
}

/** Files from an <input type=file> (with or without webkitdirectory). */
export function filesFromInput(list: FileList | null): PickedFile[] {
  return Array.from(list ?? []).map((file) => ({ path: file.webkitRelativePath || file.name, file }));
}

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushPromises, mount } from '@vue/test-utils';
import { createMemoryHistory, createRouter } from 'vue-router';
import UploadList from './UploadList.vue';
import type { UploadItem } from '../composables/useUploads.ts';
import { fileIndexForError, useUploads } from '../composables/useUploads.ts';
import { perFileFractions } from '../api/upload.ts';
import { groupUploadFiles } from '../utils/upload-groups.ts';

const file = (name: string, bytes = 10): File => new File([new Uint8Array(bytes)], name);
const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/:p(.*)*', component: { template: '<div/>' } }] });

describe('grouping dropped files into adapter uploads', () => {
  it('makes one upload per folder with weights, config first, and skips other files', () => {
    const { groups, skipped } = groupUploadFiles([
      { path: 'gemma3-logo/adapter_model.safetensors', file: file('adapter_model.safetensors') },
      { path: 'gemma3-logo/adapter_config.json', file: file('adapter_config.json') },
      { path: 'gemma3-logo/README.md', file: file('README.md') },
      { path: 'gemma3-svg-main/adapter/adapter_model.safetensors', file: file('adapter_model.safetensors') },
      { path: 'gemma3-svg-main/adapter/adapter_config.json', file: file('adapter_config.json') },
      { path: 'gemma3-svg-main/.DS_Store', file: file('.DS_Store') },
    ]);
    expect(groups.map((g) => [g.name, g.files.map((f) => f.name)])).toEqual([
      ['gemma3-logo', ['adapter_config.json', 'adapter_model.safetensors']],
      ['adapter', ['adapter_config.json', 'adapter_model.safetensors']],
    ]);
    expect(skipped).toEqual([{ path: 'gemma3-logo/README.md', code: 'FILE_TYPE_SKIPPED' }]);
  });

  it('sends loose weight files one adapter each, unless a config is dropped with them', () => {
    const loose = groupUploadFiles([
      { path: 'a.safetensors', file: file('a.safetensors') },
      { path: 'b.safetensors', file: file('b.safetensors') },
    ]);
    expect(loose.groups.map((g) => g.name)).toEqual(['a', 'b']);
    const together = groupUploadFiles([
      { path: 'adapter_model.safetensors', file: file('adapter_model.safetensors') },
      { path: 'adapter_config.json', file: file('adapter_config.json') },
    ]);
    expect(together.groups).toHaveLength(1);
    expect(together.groups[0]?.files.map((f) => f.name)).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
  });
});

describe('per-file progress from one multipart request', () => {
  it('fills files in order: the config completes before the weights start', () => {
    // config 1 000 B then weights 9 000 B, 10 100 B on the wire (100 B of form overhead).
    expect(perFileFractions([1000, 9000], 0, 10_100)).toEqual([0, 0]);
    const half = perFileFractions([1000, 9000], 5050, 10_100);
    expect(half[0]).toBe(1);
    expect(half[1]).toBeCloseTo(4000 / 9000, 12);
    expect(perFileFractions([1000, 9000], 10_100, 10_100)).toEqual([1, 1]);
  });
});

describe('which file an error is about', () => {
  it('follows the file named in the details, then in the message, else the whole upload', () => {
    const names = ['adapter_config.json', 'adapter_model.safetensors'];
    expect(fileIndexForError(names, { message: 'x', details: { file: 'adapter_model.safetensors' } })).toBe(1);
    expect(fileIndexForError(names, { message: 'adapter_config.json: line 3 is not JSON', details: {} })).toBe(0);
    expect(fileIndexForError(names, { message: 'disk full', details: {} })).toBe(-1);
    expect(fileIndexForError(['only.safetensors'], { message: 'anything' })).toBe(0);
  });
});

describe('upload list', () => {
  const items: UploadItem[] = [
    {
      key: 1,
      name: 'broken',
      state: 'failed',
      error: null,
      adapterId: null,
      files: [
        { name: 'adapter_config.json', sizeBytes: 1021, fraction: 1, error: null },
        {
          name: 'adapter_model.safetensors',
          sizeBytes: 12,
          fraction: 1,
          error: { code: 'ST_HEADER_LENGTH_INVALID', message: 'adapter_model.safetensors: header length 4096 runs past the end (12 bytes)' },
        },
      ],
    },
    {
      key: 2,
      name: 'gemma3-logo',
      state: 'uploading',
      error: null,
      adapterId: null,
      files: [{ name: 'adapter_model.safetensors', sizeBytes: 746_568, fraction: 0.25, error: null }],
    },
  ];

  it('shows the error under the file it concerns, as a sentence with the server detail and code', () => {
    const w = mount(UploadList, { props: { items }, global: { plugins: [router] } });
    const [broken] = w.findAll('[data-test="upload-item"]');
    const files = broken!.findAll('[data-test="upload-file"]');
    expect(files[0]!.find('[data-test="upload-error"]').exists()).toBe(false);
    const error = files[1]!.get('[data-test="upload-error"]');
    expect(error.attributes('role')).toBe('alert');
    expect(error.attributes('data-code')).toBe('ST_HEADER_LENGTH_INVALID');
    expect(error.text()).toContain('This safetensors file is truncated or corrupt: its header runs past the end of the file.');
    expect(error.text()).toContain('header length 4096 runs past the end (12 bytes)');
    expect(broken!.get('[data-test="upload-state"]').text()).toBe('failed');
    expect(broken!.text()).toContain('Retry');
  });

  it('shows a progress bar and percentage per file while uploading', () => {
    const w = mount(UploadList, { props: { items }, global: { plugins: [router] } });
    const uploading = w.findAll('[data-test="upload-item"]')[1]!;
    expect(uploading.get('progress').element.getAttribute('value')).toBe('0.25');
    expect(uploading.text()).toContain('25%');
    expect(uploading.text()).toContain('Cancel');
  });
});

class FakeXhr {
  static last: FakeXhr | null = null;
  upload: { onprogress: ((e: ProgressEvent) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  status = 0;
  statusText = '';
  responseText = '';
  sent: FormData | null = null;
  open(): void {}
  setRequestHeader(): void {}
  send(body: FormData): void {
    this.sent = body;
    FakeXhr.last = this;
  }
  abort(): void {
    this.onabort?.();
  }
  respond(status: number, body: unknown): void {
    this.upload.onprogress?.({ lengthComputable: true, loaded: 100, total: 100 } as ProgressEvent);
    this.status = status;
    this.responseText = JSON.stringify(body);
    this.onload?.();
  }
}

describe('upload queue with the server refusing one file', () => {
  beforeEach(() => {
    vi.stubGlobal('XMLHttpRequest', FakeXhr);
    vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify({ items: [] }), { status: 200 })));
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    useUploads().clearFinished();
  });

  it('puts a 422 problem naming the weights file on that file, not on the config', async () => {
    const uploads = useUploads();
    uploads.add([
      { path: 'bad/adapter_config.json', file: file('adapter_config.json') },
      { path: 'bad/adapter_model.safetensors', file: file('adapter_model.safetensors', 12) },
    ]);
    const xhr = FakeXhr.last!;
    expect(xhr.sent?.getAll('files').map((f) => (f as File).name)).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    expect(xhr.sent?.get('name')).toBe('bad');
    xhr.respond(422, {
      code: 'ST_HEADER_NOT_JSON',
      message: 'adapter_model.safetensors: the header is not JSON',
      details: { file: 'adapter_model.safetensors' },
      requestId: 'req-1',
    });
    await flushPromises();
    const item = uploads.items.find((i) => i.name === 'bad')!;
    expect(item.state).toBe('failed');
    expect(item.error).toBeNull();
    expect(item.files[0]!.error).toBeNull();
    expect(item.files[1]!.error).toEqual({ code: 'ST_HEADER_NOT_JSON', message: 'adapter_model.safetensors: the header is not JSON', requestId: 'req-1' });
  });

  it('marks a duplicate upload as already registered', async () => {
    const uploads = useUploads();
    uploads.add([{ path: 'x.safetensors', file: file('x.safetensors') }]);
    FakeXhr.last!.respond(200, { id: 'A'.repeat(26), duplicate: true });
    await flushPromises();
    const item = uploads.items.find((i) => i.name === 'x')!;
    expect(item.state).toBe('duplicate');
    expect(item.adapterId).toBe('A'.repeat(26));
  });
});

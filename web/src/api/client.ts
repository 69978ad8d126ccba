// Typed fetch wrapper for the workbench API. Every failure becomes an ApiError with the server's
// stable code, so pages can turn codes into sentences (utils/error-sentences.ts).
import { ApiError, errorFromResponse, toApiError } from './api-error.ts';
import { authHeaders } from './auth.ts';
import type {
  AdapterDetailDto,
  AdapterSummaryDto,
  AnalysisRequestDto,
  BaseDto,
  BaseRegisterRequestDto,
  HealthDto,
  JobCreatedDto,
  JobDto,
  ListDto,
  MergeMethodDto,
  MergeRequestDto,
} from './types.ts';

let apiBase = '';

/** Prefix for every API path ('' = same origin). Tests and the e2e suite point it elsewhere. */
export function setApiBase(base: string): void {
  apiBase = base.replace(/\/+$/, '');
}

export function apiUrl(path: string): string {
  return `${apiBase}${path}`;
}

export interface RequestOptions {
  readonly method?: 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH';
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly signal?: AbortSignal;
}

/** Sends one request and parses the JSON answer as T; throws ApiError on any failure. */
export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...authHeaders(), ...options.headers };
  let body: BodyInit | undefined;
  if (options.body !== undefined) {
    if (options.body instanceof FormData) {
      body = options.body;
    } else {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
  }
  let response: Response;
  try {
    response = await fetch(apiUrl(path), {
      method: options.method ?? 'GET',
      headers,
      ...(body === undefined ? {} : { body }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    throw toApiError(error);
  }
  const text = await response.text().catch(() => '');
  if (!response.ok) throw errorFromResponse(response.status, response.statusText, text);
  if (response.status === 204 || text === '') return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError('BAD_RESPONSE', `The server sent something that is not JSON for ${path}.`, response.status);
  }
}

/** Fetches text (Markdown/HTML exports). */
export async function requestText(path: string, signal?: AbortSignal): Promise<string> {
  let response: Response;
  try {
    response = await fetch(apiUrl(path), { headers: authHeaders(), ...(signal ? { signal } : {}) });
  } catch (error) {
    throw toApiError(error);
  }
  const text = await response.text().catch(() => '');
  if (!response.ok) throw errorFromResponse(response.status, response.statusText, text);
  return text;
}

const id = (value: string): string => encodeURIComponent(value);

/** One function per route of docs/openapi.yaml. */
export const api = {
  health: (signal?: AbortSignal) => request<HealthDto>('/api/health', { ...(signal ? { signal } : {}) }),
  methods: async (): Promise<readonly MergeMethodDto[]> => (await request<ListDto<MergeMethodDto>>('/api/methods')).items,
  adapters: async (): Promise<readonly AdapterSummaryDto[]> =>
    (await request<ListDto<AdapterSummaryDto>>('/api/adapters')).items,
  adapter: (adapterId: string, options: { spectra?: boolean } = {}) =>
    request<AdapterDetailDto>(`/api/adapters/${id(adapterId)}${options.spectra ? '?spectra=1' : ''}`),
  deleteAdapter: (adapterId: string) => request<void>(`/api/adapters/${id(adapterId)}`, { method: 'DELETE' }),
  bases: async (): Promise<readonly BaseDto[]> => (await request<ListDto<BaseDto>>('/api/bases')).items,
  registerBase: (body: BaseRegisterRequestDto) => request<BaseDto>('/api/bases', { method: 'POST', body }),
  createMerge: (body: MergeRequestDto, idempotencyKey?: string) =>
    request<JobCreatedDto>('/api/merges', {
      method: 'POST',
      body,
      ...(idempotencyKey ? { headers: { 'Idempotency-Key': idempotencyKey } } : {}),
    }),
  createAnalysis: (body: AnalysisRequestDto, idempotencyKey?: string) =>
    request<JobCreatedDto>('/api/analyses', {
      method: 'POST',
      body,
      ...(idempotencyKey ? { headers: { 'Idempotency-Key': idempotencyKey } } : {}),
    }),
  jobs: async (): Promise<readonly JobDto[]> => (await request<ListDto<JobDto>>('/api/jobs')).items,
  job: (jobId: string, signal?: AbortSignal) => request<JobDto>(`/api/jobs/${id(jobId)}`, { ...(signal ? { signal } : {}) }),
  cancelJob: (jobId: string) => request<JobDto>(`/api/jobs/${id(jobId)}/cancel`, { method: 'POST' }),
  report: <T = unknown>(reportId: string, signal?: AbortSignal) =>
    request<T>(`/api/reports/${id(reportId)}`, { ...(signal ? { signal } : {}) }),
};

/** Links (not fetched by the app; the browser downloads them). */
export const links = {
  download: (jobId: string) => apiUrl(`/api/merges/${id(jobId)}/download`),
  reportJson: (reportId: string) => apiUrl(`/api/reports/${id(reportId)}`),
  reportHtml: (reportId: string) => apiUrl(`/api/reports/${id(reportId)}.html`),
  reportMarkdown: (reportId: string) => apiUrl(`/api/reports/${id(reportId)}.md`),
};

/** A random key so a double click on "Merge" submits one job. */
export function newIdempotencyKey(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// Live job client: Server-Sent Events read through fetch (so Last-Event-ID can be sent on every
// reconnect), bounded exponential backoff, and a polling fallback when the stream cannot be held.
import { errorFromResponse, toApiError, type ApiError } from './api-error.ts';
import { authHeaders } from './auth.ts';
import { api, apiUrl } from './client.ts';
import { SseParser } from './sse-parser.ts';
import type { JobDto, JobEventDto, JobState } from './types.ts';

export type LiveConnection = 'connecting' | 'open' | 'reconnecting' | 'polling' | 'closed';

export interface LiveHandlers {
  onEvent?(event: JobEventDto): void;
  /** A full snapshot (initial load, after reconnects, and while polling). */
  onSnapshot?(job: JobDto): void;
  onConnection?(state: LiveConnection, attempt: number): void;
  onError?(error: ApiError): void;
}

export interface LiveOptions {
  /** Reconnect attempts in a row before falling back to polling. */
  readonly maxReconnects?: number;
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly pollIntervalMs?: number;
  /** A connection silent for this long (the server sends a heartbeat every 15 s) is dropped and resumed. */
  readonly idleTimeoutMs?: number;
  /** Injected for tests. */
  readonly fetchImpl?: typeof fetch;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly getJob?: (jobId: string, signal: AbortSignal) => Promise<JobDto>;
}

export const TERMINAL_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];

export function isTerminal(state: JobState): boolean {
  return TERMINAL_STATES.includes(state);
}

/** True when an event ends the stream (result, error, or a terminal state). */
export function endsStream(event: JobEventDto): boolean {
  return event.type === 'result' || event.type === 'error' || (event.type === 'state' && isTerminal(event.state));
}

/** Delay before reconnect attempt n (1-based): initial · 2^(n−1), capped. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
}

function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export interface LiveSubscription {
  close(): void;
  /** Resolves when the job reached a terminal state or close() was called. */
  readonly finished: Promise<void>;
}

/** Follows a job until it ends. Events carry `seq`; duplicates after a resume are dropped. */
export function followJob(jobId: string, handlers: LiveHandlers, options: LiveOptions = {}): LiveSubscription {
  const maxReconnects = options.maxReconnects ?? 6;
  const initialDelayMs = options.initialDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 8_000;
  const pollIntervalMs = options.pollIntervalMs ?? 2_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 45_000;
  const fetchImpl = options.fetchImpl ?? ((input, init) => globalThis.fetch(input, init));
  const sleep = options.sleep ?? defaultSleep;
  const getJob = options.getJob ?? ((id, signal) => api.job(id, signal));
  const controller = new AbortController();
  const signal = controller.signal;
  let lastEventId: string | null = null;
  let lastSeq = -1;
  let ended = false;

  const deliver = (event: JobEventDto): void => {
    if (event.seq <= lastSeq) return;
    lastSeq = event.seq;
    handlers.onEvent?.(event);
    if (endsStream(event)) ended = true;
  };

  const snapshot = async (): Promise<JobDto | null> => {
    try {
      const job = await getJob(jobId, signal);
      handlers.onSnapshot?.(job);
      if (isTerminal(job.state)) ended = true;
      return job;
    } catch (error) {
      if (!signal.aborted) handlers.onError?.(toApiError(error));
      return null;
    }
  };

  /** One stream connection. Returns true when it delivered at least one event. */
  const stream = async (): Promise<boolean> => {
    const headers: Record<string, string> = { Accept: 'text/event-stream', ...authHeaders() };
    if (lastEventId !== null) headers['Last-Event-ID'] = lastEventId;
    const connection = new AbortController();
    const onAbort = (): void => connection.abort();
    signal.addEventListener('abort', onAbort);
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    const arm = (): void => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => connection.abort(), idleTimeoutMs);
    };
    arm();
    try {
      return await streamOn(headers, connection.signal, arm);
    } finally {
      clearTimeout(watchdog);
      signal.removeEventListener('abort', onAbort);
    }
  };

  const streamOn = async (headers: Record<string, string>, connectionSignal: AbortSignal, arm: () => void): Promise<boolean> => {
    const response = await fetchImpl(apiUrl(`/api/jobs/${encodeURIComponent(jobId)}/events`), {
      headers,
      signal: connectionSignal,
    });
    if (!response.ok) {
      const error = errorFromResponse(response.status, response.statusText, await response.text().catch(() => ''));
      // 4xx other than 408/429 will not heal by retrying.
      if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
        ended = true;
      }
      throw error;
    }
    if (!response.body) throw new Error('the event stream has no body');
    handlers.onConnection?.('open', 0);
    const parser = new SseParser();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let delivered = false;
    try {
      while (!ended) {
        const { value, done } = await reader.read();
        if (done) break;
        arm();
        for (const message of parser.push(value)) {
          if (message.id !== null) lastEventId = message.id;
          let parsed: JobEventDto;
          try {
            parsed = JSON.parse(message.data) as JobEventDto;
          } catch {
            continue;
          }
          delivered = true;
          deliver(parsed);
        }
      }
    } finally {
      reader.cancel().catch(() => undefined);
    }
    return delivered;
  };

  const run = async (): Promise<void> => {
    handlers.onConnection?.('connecting', 0);
    const first = await snapshot();
    if (first && isTerminal(first.state)) {
      handlers.onConnection?.('closed', 0);
      return;
    }
    let attempt = 0;
    while (!ended && !signal.aborted) {
      try {
        const delivered = await stream();
        if (delivered) attempt = 0;
        if (ended || signal.aborted) break;
        // The server closed without a final event: check where the job stands, then resume.
        await snapshot();
        if (ended) break;
      } catch (error) {
        if (signal.aborted) break;
        handlers.onError?.(toApiError(error));
        if (ended) break;
      }
      attempt += 1;
      if (attempt > maxReconnects) break;
      handlers.onConnection?.('reconnecting', attempt);
      await sleep(backoffDelay(attempt, initialDelayMs, maxDelayMs), signal);
    }
    if (!ended && !signal.aborted) {
      handlers.onConnection?.('polling', attempt);
      while (!ended && !signal.aborted) {
        await sleep(pollIntervalMs, signal);
        if (signal.aborted) break;
        await snapshot();
      }
    }
    handlers.onConnection?.('closed', attempt);
  };

  const finished = run().catch((error: unknown) => handlers.onError?.(toApiError(error)));
  return {
    close: () => controller.abort(),
    finished,
  };
}

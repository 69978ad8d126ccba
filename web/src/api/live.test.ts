import { describe, expect, it } from 'vitest';
import { backoffDelay, followJob, type LiveConnection } from './live.ts';
import { SseParser } from './sse-parser.ts';
import type { JobDto, JobEventDto } from './types.ts';

describe('SSE parser', () => {
  it('assembles events split across arbitrary chunks, with CRLF, comments and multi-line data', () => {
    const parser = new SseParser();
    const text = ': heartbeat\r\nid: 1\r\nevent: progress\r\ndata: {"a":\r\ndata: 1}\r\n\r\nretry: 3000\nid: 2\ndata: x\n\n';
    const out = [];
    for (let i = 0; i < text.length; i += 3) out.push(...parser.push(text.slice(i, i + 3)));
    expect(out).toEqual([
      { event: 'progress', data: '{"a":\n1}', id: '1' },
      { event: 'message', data: 'x', id: '2' },
    ]);
    expect(parser.retryMs).toBe(3000);
  });

  it('does not emit an event until its blank line arrives', () => {
    const parser = new SseParser();
    expect(parser.push('data: half')).toEqual([]);
    expect(parser.push('\n')).toEqual([]);
    expect(parser.push('\n')).toEqual([{ event: 'message', data: 'half', id: null }]);
  });
});

const job = (state: JobDto['state']): JobDto => ({
  id: 'J'.repeat(26),
  kind: 'merge',
  state,
  progress: null,
  attempts: 1,
  maxAttempts: 3,
  cancelRequested: false,
  inputs: [],
  request: {},
  error: null,
  result: null,
  createdAt: '2026-11-24T01:00:00Z',
  startedAt: null,
  finishedAt: null,
});

const at = '2026-11-24T01:00:01Z';
const sse = (events: JobEventDto[]): string => events.map((e) => `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join('');
const stream = (text: string): Response => new Response(text, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });

describe('live job client', () => {
  it('resumes after a dropped stream with Last-Event-ID and delivers each event once', async () => {
    const sentIds: (string | null)[] = [];
    const responses = [
      stream(sse([
        { type: 'state', seq: 1, state: 'running', at },
        { type: 'progress', seq: 2, progress: { phase: 'merge', step: 1, of: 3 }, at },
      ])),
      // The server replays seq 2 after the resume; the client drops the duplicate.
      stream(sse([
        { type: 'progress', seq: 2, progress: { phase: 'merge', step: 1, of: 3 }, at },
        { type: 'progress', seq: 3, progress: { phase: 'merge', step: 3, of: 3 }, at },
        { type: 'result', seq: 4, result: { downloadUrl: '/d', reportUrl: null, outputHash: 'h', summary: {} }, at },
      ])),
    ];
    const fetchImpl = (async (_url: string, init: RequestInit) => {
      sentIds.push(new Headers(init.headers).get('Last-Event-ID'));
      return responses.shift()!;
    }) as typeof fetch;
    const seen: number[] = [];
    const connections: LiveConnection[] = [];
    const sub = followJob(
      'J'.repeat(26),
      { onEvent: (e) => seen.push(e.seq), onConnection: (c) => connections.push(c) },
      { fetchImpl, getJob: async () => job('running'), sleep: async () => undefined },
    );
    await sub.finished;
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(sentIds).toEqual([null, '2']);
    expect(connections).toContain('reconnecting');
    expect(connections.at(-1)).toBe('closed');
  });

  it('gives up streaming after the bounded reconnects and polls until the job ends', async () => {
    let fetches = 0;
    const fetchImpl = (async () => {
      fetches += 1;
      throw new TypeError('network down');
    }) as typeof fetch;
    const states: JobDto['state'][] = ['running', 'running', 'running', 'running', 'running', 'succeeded'];
    const snapshots: string[] = [];
    const delays: number[] = [];
    const connections: LiveConnection[] = [];
    const sub = followJob(
      'J'.repeat(26),
      { onSnapshot: (j) => snapshots.push(j.state), onConnection: (c) => connections.push(c) },
      {
        fetchImpl,
        maxReconnects: 3,
        initialDelayMs: 100,
        maxDelayMs: 250,
        pollIntervalMs: 1000,
        getJob: async () => job(states.shift() ?? 'succeeded'),
        sleep: async (ms) => {
          delays.push(ms);
        },
      },
    );
    await sub.finished;
    expect(fetches).toBe(4); // the first try plus 3 reconnects
    expect(delays.slice(0, 3)).toEqual([100, 200, 250]);
    expect(connections).toContain('polling');
    expect(snapshots.at(-1)).toBe('succeeded');
  });

  it('does not stream at all for a job that already finished', async () => {
    let fetches = 0;
    const sub = followJob('J'.repeat(26), {}, {
      fetchImpl: (async () => {
        fetches += 1;
        return stream('');
      }) as typeof fetch,
      getJob: async () => job('cancelled'),
    });
    await sub.finished;
    expect(fetches).toBe(0);
  });

  it('stops on a 404 instead of retrying', async () => {
    let fetches = 0;
    const errors: string[] = [];
    const sub = followJob('J'.repeat(26), { onError: (e) => errors.push(e.code) }, {
      fetchImpl: (async () => {
        fetches += 1;
        return new Response(JSON.stringify({ code: 'NOT_FOUND', message: 'no job', details: {} }), { status: 404 });
      }) as typeof fetch,
      getJob: async () => job('running'),
      sleep: async () => undefined,
    });
    await sub.finished;
    expect(fetches).toBe(1);
    expect(errors).toEqual(['NOT_FOUND']);
  });

  it('backs off exponentially up to the cap', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, 500, 4000))).toEqual([500, 1000, 2000, 4000, 4000]);
  });
});

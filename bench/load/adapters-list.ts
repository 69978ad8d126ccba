// Load test: p50/p99 latency of GET /api/adapters on loopback, idle and while
// merges run, against a real `awb serve` child. Bounded: 10 connections, a few
// seconds per phase. The ratio busy/idle says whether CPU work stays off the
// event loop (goal: p99 < 50 ms while a merge runs).
//   node bin/run-ts.js bench/load/adapters-list.ts [--seconds 8] [--connections 10]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
interface Result {
  latency: { p50: number; p99: number; average: number; max: number };
  requests: { total: number; average: number };
  non2xx: number;
  errors: number;
}
const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<Result>;

const { values } = parseArgs({ options: { seconds: { type: 'string' }, connections: { type: 'string' } } });
const SECONDS = Number(values.seconds ?? 8);
const CONNECTIONS = Number(values.connections ?? 10);
const REPO = resolve(import.meta.dirname, '../..');

function start(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [join(REPO, 'bin/awb.js'), 'serve', '--data', dataDir, '--port', '0', '--no-build'], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((ok, fail) => {
    let out = '';
    const on = (c: Buffer): void => {
      out += c.toString();
      const m = /listening on (http:\/\/[^ ]+?)\/ /.exec(out);
      if (m) ok({ child, url: m[1] as string });
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
    child.once('exit', (code) => fail(new Error(`server exited ${code}: ${out}`)));
  });
}

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  return (await (await fetch(url, init)).json()) as T;
}

interface Loop {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** autocannon over one phase, plus the server's own event-loop delay for the same window. */
async function measure(url: string): Promise<Result & { loop: Loop | undefined }> {
  await fetch(`${url}/api/health`); // resets the server's event-loop histogram
  const r = await autocannon({ url: `${url}/api/adapters`, connections: CONNECTIONS, duration: SECONDS });
  const h = await json<{ eventLoopDelay?: Loop }>(`${url}/api/health`);
  return { ...r, loop: h.eventLoopDelay };
}

const dataDir = await mkdtemp(join(tmpdir(), 'awb-load-'));
const { child, url } = await start(dataDir);
try {
  const adapters = (await json<{ items: { id: string; name: string }[] }>(`${url}/api/adapters`)).items;
  const pick = (name: string): string => adapters.find((a) => a.name === name)!.id;
  // Warm-up: JIT the route.
  await autocannon({ url: `${url}/api/adapters`, connections: 2, duration: 1 });
  const idle = await measure(url);

  // Keep the worker busy: a queue of TIES merges (distinct seeds, so none is deduplicated).
  const a = pick('distilbert-imdb');
  const b = pick('distilbert-emotion');
  const jobs: string[] = [];
  for (let seed = 1; seed <= 40; seed += 1) {
    const res = await json<{ jobId: string }>(`${url}/api/merges`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ method: 'ties', seed, params: { density: 0.5 }, inputs: [{ adapter: a }, { adapter: b }] }),
    });
    jobs.push(res.jobId);
  }
  for (;;) {
    const h = await json<{ queue: { running: number } }>(`${url}/api/health`);
    if (h.queue.running > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const busy = await measure(url);
  const health = await json<{ queue: { queued: number; running: number } }>(`${url}/api/health`);
  const finished = (await Promise.all(jobs.map((id) => json<{ state: string }>(`${url}/api/jobs/${id}`)))).filter((j) => j.state === 'succeeded').length;
  const row = (label: string, r: Result & { loop: Loop | undefined }): string =>
    `| ${label} | ${r.latency.p50} | ${r.latency.p99} | ${r.latency.max} | ${Math.round(r.requests.average)} | ${r.non2xx} | ${r.errors} | ${r.loop?.p99Ms ?? '-'} | ${r.loop?.maxMs ?? '-'} |`;
  const lines = [
    `GET /api/adapters (${adapters.length} adapters), ${CONNECTIONS} connections, ${SECONDS} s per phase, loopback`,
    '',
    '| phase | p50 ms | p99 ms | max ms | req/s | non-2xx | errors | loop delay p99 ms | loop delay max ms |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    row('idle (baseline)', idle),
    row('merges running', busy),
    '',
    `ratio p99 busy/idle: ${(busy.latency.p99 / Math.max(1, idle.latency.p99)).toFixed(2)}; merges finished during the busy phase: ${finished} (queue after: ${health.queue.queued} queued, ${health.queue.running} running)`,
    `goal p99 < 50 ms while a merge runs: ${busy.latency.p99 < 50 ? 'met' : 'NOT met'}; machine load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${availableParallelism()} cores`,
  ];
  console.log(lines.join('\n'));
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await rm(dataDir, { recursive: true, force: true });
}

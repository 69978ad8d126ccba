// Server configuration: parsed once from argv and the environment into a
// frozen object. Only main.ts reads process state; everything else gets Config.
import { parseArgs } from 'node:util';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpError } from './errors.ts';

export type QueueBackend = 'sqlite' | 'bullmq';

export interface Config {
  readonly mode: 'serve' | 'worker';
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly token: string | undefined;
  readonly queue: QueueBackend;
  readonly redisUrl: string | undefined;
  /** Root under which `POST /api/bases {path}` may register files. */
  readonly basesRoot: string;
  readonly openSamples: boolean;
  /** Worker threads running jobs in this process (0: this process only serves). */
  readonly workers: number;
  /** Folder of the built dashboard. */
  readonly webDist: string;
  readonly buildDashboard: boolean;
}

/** The repository root (this file is server/config.ts). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host);
}

function configError(message: string, details: Record<string, unknown> = {}): HttpError {
  return new HttpError('CONFIG_INVALID', message, details);
}

/** Parses `awb serve|worker [options]`. Throws HttpError CONFIG_INVALID on bad input. */
export function parseConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, cwd: string): Config {
  const [command, ...rest] = argv;
  const mode = command === 'worker' ? 'worker' : 'serve';
  let parsed;
  try {
    parsed = parseArgs({
      args: [...rest],
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        data: { type: 'string' },
        queue: { type: 'string' },
        'redis-url': { type: 'string' },
        'bases-root': { type: 'string' },
        'open-samples': { type: 'boolean' },
        workers: { type: 'string' },
        'no-build': { type: 'boolean' },
      },
    });
  } catch (error) {
    throw configError(`awb ${mode}: ${(error as Error).message}`);
  }
  const v = parsed.values;
  const portText = v.port ?? env.AWB_PORT ?? '7860';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw configError(`--port must be an integer in 0..65535, got "${portText}"`, { port: portText });
  }
  const host = v.host ?? env.AWB_HOST ?? '127.0.0.1';
  const token = env.AWB_TOKEN !== undefined && env.AWB_TOKEN !== '' ? env.AWB_TOKEN : undefined;
  if (!isLoopback(host) && token === undefined) {
    throw configError(`refusing to listen on ${host} without AWB_TOKEN: set AWB_TOKEN to require bearer auth, or bind 127.0.0.1`, { host });
  }
  if (token !== undefined && token.length < 16) {
    throw configError('AWB_TOKEN must be at least 16 characters', { length: token.length });
  }
  const queueText = v.queue ?? env.AWB_QUEUE ?? (env.AWB_REDIS_URL ? 'bullmq' : 'sqlite');
  if (queueText !== 'sqlite' && queueText !== 'bullmq') {
    throw configError(`--queue must be sqlite or bullmq, got "${queueText}"`, { queue: queueText });
  }
  const redisUrl = v['redis-url'] ?? env.AWB_REDIS_URL;
  if (queueText === 'bullmq' && !redisUrl) {
    throw configError('the bullmq queue needs AWB_REDIS_URL (e.g. redis://127.0.0.1:6379)');
  }
  const workersText = v.workers ?? env.AWB_WORKERS ?? '1';
  const workers = Number(workersText);
  if (!Number.isInteger(workers) || workers < 0 || workers > 64) {
    throw configError(`--workers must be an integer in 0..64, got "${workersText}"`, { workers: workersText });
  }
  return Object.freeze({
    mode,
    port,
    host,
    dataDir: resolve(cwd, v.data ?? env.AWB_DATA ?? '.awb-data'),
    token,
    queue: queueText,
    redisUrl,
    basesRoot: resolve(cwd, v['bases-root'] ?? env.AWB_BASES_ROOT ?? resolve(REPO_ROOT, 'fixtures')),
    openSamples: v['open-samples'] ?? false,
    workers: mode === 'worker' ? Math.max(1, workers) : workers,
    webDist: resolve(REPO_ROOT, 'web', 'dist'),
    buildDashboard: !(v['no-build'] ?? false),
  });
}

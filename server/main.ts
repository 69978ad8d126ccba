// `awb serve` and `awb worker`: read config, open stores, recover jobs, start
// the runner, listen (serve only), and shut down cleanly on SIGINT/SIGTERM.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createApp } from './app.ts';
import { isLoopback, parseConfig } from './config.ts';
import type { Config } from './config.ts';
import { HttpError, isHttpError } from './errors.ts';
import { openServices } from './services.ts';
import type { Services } from './services.ts';
import { JobRunner } from './jobs/runner.ts';
import { registerSamples } from './samples.ts';
import { ensureDashboard } from './dashboard.ts';
import { TOOL_NAME, TOOL_VERSION } from '../src/version.ts';
import { isWorkbenchError } from '../src/errors.ts';

/** Stale-lease recovery runs this often while the server is up. */
const RECOVERY_INTERVAL_MS = 15_000;

function log(line: string): void {
  process.stderr.write(`[awb] ${line}\n`);
}

async function openFor(config: Config): Promise<{ services: Services; runnerOwnsBullmq?: () => Promise<void> }> {
  if (config.queue === 'bullmq') {
    const { BullmqJobQueue } = await import('./jobs/bullmq-queue.ts');
    const services = await openServices({
      dataDir: config.dataDir,
      basesRoot: config.basesRoot,
      makeQueue: (db) => BullmqJobQueue.connect(db, config.redisUrl as string),
      validateInWorker: true,
    });
    return { services };
  }
  return { services: await openServices({ dataDir: config.dataDir, basesRoot: config.basesRoot, validateInWorker: true }) };
}

function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (signal: string): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export async function serveMain(argv: string[]): Promise<number> {
  let config: Config;
  try {
    config = parseConfig(argv, process.env, process.cwd());
  } catch (error) {
    process.stderr.write(`error [${isHttpError(error) ? error.code : 'CONFIG_INVALID'}]: ${(error as Error).message}\n`);
    return 2;
  }
  const firstStart = !existsSync(join(config.dataDir, 'awb.sqlite'));
  let opened;
  try {
    opened = await openFor(config);
  } catch (error) {
    const code = isHttpError(error) || isWorkbenchError(error) ? error.code : 'IO_ERROR';
    process.stderr.write(`error [${code}]: ${(error as Error).message}\n`);
    return 1;
  }
  const { services } = opened;
  if (services.swept > 0) log(`swept ${services.swept} staging folder(s) left by a stopped process`);
  const recovered = services.queue.recover();
  if (recovered.requeued.length + recovered.failed.length > 0) {
    log(`recovered jobs: re-queued ${recovered.requeued.join(', ') || 'none'}; failed ${recovered.failed.join(', ') || 'none'}`);
  }

  const stepDelayMs = Number(process.env.AWB_TEST_STEP_DELAY_MS ?? 0) || 0;
  const runner = new JobRunner({
    queue: services.queue,
    blobs: services.blobs,
    resolvePayload: services.resolvePayload,
    concurrency: config.workers,
    stepDelayMs,
    log,
  });
  let bullWorker: { close(): Promise<void> } | undefined;
  if (config.queue === 'bullmq') {
    const { startBullmqWorker } = await import('./jobs/bullmq-queue.ts');
    if (config.workers > 0) bullWorker = await startBullmqWorker(services.queue, runner, config.redisUrl as string, config.workers);
  } else {
    runner.start();
  }
  const recovery = setInterval(() => services.queue.recover(), RECOVERY_INTERVAL_MS);
  recovery.unref();

  let server: Server | undefined;
  if (config.mode === 'serve') {
    if (firstStart) {
      const samples = await registerSamples(services);
      log(`first start: registered ${samples.registered.length} sample(s)${samples.failed.length ? `; skipped ${samples.failed.map((f) => f.name).join(', ')}` : ''}`);
    }
    const dashboard = await ensureDashboard(config.webDist, config.buildDashboard, log);
    const eventLoop = monitorEventLoopDelay({ resolution: 10 });
    eventLoop.enable();
    const app = createApp({
      services,
      eventLoop,
      token: config.token,
      runner,
      webDist: dashboard.webDist,
      dashboardError: dashboard.error,
      allowedHosts: isLoopback(config.host) ? ['127.0.0.1', 'localhost', '[::1]', '::1'] : undefined,
      log,
    });
    try {
      // Not app.listen: Express 5 calls its callback on 'error' too, which would hide EADDRINUSE.
      const s = createServer(app);
      server = await new Promise<Server>((resolve, reject) => {
        s.once('error', reject);
        s.listen(config.port, config.host, () => {
          s.off('error', reject);
          resolve(s);
        });
      });
    } catch (error) {
      process.stderr.write(`error [IO_ERROR]: cannot listen on ${config.host}:${config.port}: ${(error as Error).message}\n`);
      await runner.stop();
      await services.close();
      return 1;
    }
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const shownHost = config.host.includes(':') ? `[${config.host}]` : config.host;
    process.stdout.write(`${TOOL_NAME} ${TOOL_VERSION} listening on http://${shownHost}:${port}/ (queue: ${config.queue}, data: ${config.dataDir})\n`);
  } else {
    process.stdout.write(`${TOOL_NAME} ${TOOL_VERSION} worker running (queue: ${config.queue}, concurrency: ${config.workers})\n`);
  }

  const signal = await waitForSignal();
  log(`${signal}: shutting down`);
  clearInterval(recovery);
  if (server) {
    server.close();
    server.closeAllConnections();
  }
  await bullWorker?.close();
  await runner.stop();
  await services.close();
  return 0;
}

export { HttpError };

// Builds the app in-process over a temp data dir (SQLite queue), with an
// optional in-process runner, for supertest.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Express } from 'express';
import { createApp } from '../../server/app.ts';
import type { AppDeps } from '../../server/app.ts';
import { openServices } from '../../server/services.ts';
import type { Services } from '../../server/services.ts';
import type { BlobStoreHooks } from '../../server/storage/blob-store.ts';
import { JobRunner } from '../../server/jobs/runner.ts';
import { FIXTURES } from '../helpers/paths.ts';

export { REPO_ROOT as REPO, FIXTURES } from '../helpers/paths.ts';

export interface Harness {
  readonly app: Express;
  readonly services: Services;
  readonly runner: JobRunner | undefined;
  readonly dataDir: string;
  /** Everything under tmp/ (staging): must be empty after any request settles. */
  tmpEntries(): Promise<string[]>;
  objectCount(): Promise<number>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly runner?: boolean;
  readonly stepDelayMs?: number;
  readonly blobHooks?: BlobStoreHooks;
  /** Validate uploads in a worker thread, as `awb serve` does. */
  readonly validateInWorker?: boolean;
  readonly app?: Partial<Omit<AppDeps, 'services'>>;
}

export async function makeHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dataDir = await mkdtemp(join(tmpdir(), 'awb-api-'));
  const services = await openServices({
    dataDir,
    basesRoot: FIXTURES,
    validateInWorker: options.validateInWorker ?? false,
    ...(options.blobHooks ? { blobHooks: options.blobHooks } : {}),
  });
  const runner = options.runner
    ? new JobRunner({
        queue: services.queue,
        blobs: services.blobs,
        resolvePayload: services.resolvePayload,
        concurrency: 1,
        pollMs: 100,
        progressIntervalMs: 50,
        cancelGraceMs: 2000,
        stepDelayMs: options.stepDelayMs ?? 0,
        log: () => {},
      })
    : undefined;
  runner?.start();
  const app = createApp({ services, runner, webDist: null, log: () => {}, ssePollMs: 100, ...(options.app ?? {}) });
  return {
    app,
    services,
    runner,
    dataDir,
    tmpEntries: () => readdir(join(dataDir, 'tmp')),
    objectCount: async () => (await readdir(join(dataDir, 'objects'))).length,
    async close() {
      await runner?.stop();
      await services.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls until the predicate holds (or throws after timeoutMs). */
export async function waitFor<T>(fn: () => T | Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000, stepMs = 100): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms; last value ${JSON.stringify(v)?.slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

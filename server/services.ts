// Opens everything the API and the runner share, for one data dir: the
// object store, SQLite (migrated), the adapter/base stores and the queue.
// main.ts and the API tests both build the app from this.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openDb } from './db/open-db.ts';
import type { Db } from './db/open-db.ts';
import { BlobStore } from './storage/blob-store.ts';
import type { BlobStoreHooks } from './storage/blob-store.ts';
import { AdapterStore } from './adapters/adapter-store.ts';
import { BaseStore } from './bases/base-store.ts';
import { SqliteJobQueue } from './jobs/sqlite-queue.ts';
import type { JobQueue, JobRecord } from './jobs/queue.ts';
import { HttpError } from './errors.ts';
import { createWorkerPool } from '../src/compute/worker-pool.ts';
import type { WorkerPool } from '../src/compute/worker-pool.ts';
import type { DescribeFn } from './adapters/adapter-store.ts';
import type { AdapterDetailDto } from './dto.ts';
import { fileURLToPath } from 'node:url';

const DESCRIBE_TASK = fileURLToPath(new URL('./adapters/describe-adapter.ts', import.meta.url));
import { requestToRecipe } from './jobs/merge-recipe.ts';

export interface Services {
  readonly dataDir: string;
  readonly db: Db;
  readonly blobs: BlobStore;
  readonly adapters: AdapterStore;
  readonly bases: BaseStore;
  readonly queue: JobQueue;
  /** Turns a job's request (adapter/base ids) into what the worker needs (object paths). */
  resolvePayload(job: JobRecord): Record<string, unknown>;
  /** Staging folders swept at open. */
  readonly swept: number;
  close(): Promise<void>;
}

export interface OpenServicesOptions {
  readonly dataDir: string;
  readonly basesRoot: string;
  readonly blobHooks?: BlobStoreHooks;
  /** Builds the queue over the open db (default: the SQLite queue). */
  readonly makeQueue?: (db: Db) => JobQueue | Promise<JobQueue>;
  /** Validate uploads in a worker thread (the server does; in-process tests need not). */
  readonly validateInWorker?: boolean;
}

export async function openServices(options: OpenServicesOptions): Promise<Services> {
  await mkdir(options.dataDir, { recursive: true });
  const blobs = new BlobStore(options.dataDir, options.blobHooks ?? {});
  const swept = await blobs.init();
  const db = openDb(join(options.dataDir, 'awb.sqlite'));
  let pool: WorkerPool | undefined;
  const describe: DescribeFn | undefined = options.validateInWorker
    ? (args) => {
        pool ??= createWorkerPool({ size: 1 });
        return pool.run<AdapterDetailDto>({ module: DESCRIBE_TASK, fn: 'describeAdapterTask', args });
      }
    : undefined;
  const adapters = new AdapterStore(db, blobs, describe);
  const bases = new BaseStore(db, blobs, options.basesRoot);
  const queue = options.makeQueue ? await options.makeQueue(db) : new SqliteJobQueue(db);

  /** A succeeded merge job's output folder, for retention analysis. */
  const mergedOf = (jobId: unknown): { merged?: string; mergeReport?: string } => {
    if (typeof jobId !== 'string') return {};
    const merge = queue.get(jobId);
    if (!merge?.outputHash) throw new HttpError('NOT_FOUND', `merge job ${jobId} has no output`, { kind: 'merge job', id: jobId });
    const dir = blobs.pathOf(merge.outputHash);
    return { merged: dir, mergeReport: join(dir, 'merge-report.json') };
  };

  const resolvePayload = (job: JobRecord): Record<string, unknown> => {
    const req = job.request;
    if (job.kind === 'merge') {
      const labels: Record<string, string> = {};
      const recipe = requestToRecipe(req, (id) => {
        const { path } = adapters.pathOf(id);
        labels[path] = `adapter:${id}`;
        return path;
      });
      return { recipe, labels };
    }
    if (job.kind === 'analysis') {
      const ids = req.adapters as string[];
      const labels: Record<string, string> = {};
      const paths = ids.map((id) => {
        const { path } = adapters.pathOf(id);
        labels[path] = `adapter:${id}`;
        return path;
      });
      const merged = mergedOf(req.merge);
      const cacheDir = join(options.dataDir, 'cache');
      labels[cacheDir] = 'awb-data:cache';
      if (merged.merged) labels[merged.merged] = `merge:${String(req.merge)}`;
      return {
        labels,
        adapters: paths,
        adapterIds: ids,
        base: typeof req.base === 'string' ? bases.weightsPath(req.base) : undefined,
        seed: req.seed,
        options: req.options,
        cacheDir,
        ...merged,
      };
    }
    throw new HttpError('VALIDATION_FAILED', `unknown job kind ${String(job.kind)}`);
  };

  return {
    dataDir: options.dataDir,
    db,
    blobs,
    adapters,
    bases,
    queue,
    resolvePayload,
    swept,
    async close() {
      await pool?.close();
      await queue.close();
      db.close();
    },
  };
}

// Adapters on the server: rows in SQLite pointing at content-addressed object
// folders. Registration validates the whole adapter with the library loader
// before anything becomes visible; the row is written after the object.
import { join } from 'node:path';
import type { Db } from '../db/open-db.ts';
import type { BlobStore, ObjectFile } from '../storage/blob-store.ts';
import { manifestHash } from '../storage/blob-store.ts';
import type { AdapterDetailDto, AdapterSummaryDto } from '../dto.ts';
import { HttpError, notFound } from '../errors.ts';
import { newId } from '../ids.ts';
import { detailToSummary } from './to-dto.ts';
import { describeAdapter } from './describe-adapter.ts';
import type { DescribeArgs } from './describe-adapter.ts';
import type { JobQueue } from '../jobs/queue.ts';

export interface StagedAdapterFile extends ObjectFile {
  /** Sanitised client name, display only. */
  readonly label: string;
}

interface AdapterRow {
  id: string;
  name: string;
  format: string;
  content_hash: string;
  object_hash: string;
  detail_json: string;
}

/** Validates and describes staged files (in-process by default; the server passes a worker-pool version). */
export type DescribeFn = (args: DescribeArgs) => Promise<AdapterDetailDto>;

export class AdapterStore {
  /** The serialised list body, rebuilt after a register or delete (this process is the only writer). */
  private listJson: string | undefined;

  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
    private readonly describe: DescribeFn = (args) => describeAdapter(args),
  ) {}

  list(): AdapterSummaryDto[] {
    return (this.db.prepare('SELECT summary_json FROM adapters ORDER BY created_at DESC, id DESC').all() as { summary_json: string }[]).map(
      (r) => JSON.parse(r.summary_json) as AdapterSummaryDto,
    );
  }

  /** `{"items": [...]}` as JSON text, cached between writes. */
  listBody(): string {
    this.listJson ??= JSON.stringify({ items: this.list() });
    return this.listJson;
  }

  get(id: string): AdapterDetailDto {
    const row = this.db.prepare('SELECT detail_json FROM adapters WHERE id = ?').get(id) as { detail_json: string } | undefined;
    if (!row) throw notFound('adapter', id);
    return JSON.parse(row.detail_json) as AdapterDetailDto;
  }

  /** The object folder holding the adapter's files. */
  pathOf(id: string): { path: string; format: string } {
    const row = this.db.prepare('SELECT object_hash, format FROM adapters WHERE id = ?').get(id) as { object_hash: string; format: string } | undefined;
    if (!row) throw notFound('adapter', id);
    return { path: this.blobs.pathOf(row.object_hash), format: row.format };
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM adapters').get() as { n: number }).n;
  }

  /**
   * Validates and registers the files in `staging` (consumed: committed or discarded).
   * Returns the detail and whether the same content was already registered.
   */
  async register(staging: string, files: readonly StagedAdapterFile[], label: string, sample = false): Promise<{ detail: AdapterDetailDto; duplicate: boolean }> {
    let committed = false;
    try {
      const contentHash = manifestHash(files);
      const existing = this.db.prepare('SELECT id FROM adapters WHERE content_hash = ?').get(contentHash) as { id: string } | undefined;
      if (existing) {
        await this.blobs.discard(staging);
        committed = true;
        return { detail: this.get(existing.id), duplicate: true };
      }
      const detail = await this.describe({
        files: files.map((f) => ({ name: f.name, path: join(staging, f.name) })),
        record: {
          id: newId(),
          name: label,
          contentHash,
          files: files.map((f) => ({ name: f.label, sizeBytes: f.sizeBytes, sha256: f.sha256 })),
          sample,
          createdAt: new Date().toISOString(),
        },
      });
      const { hash, existed } = await this.blobs.commit(staging);
      committed = true;
      try {
        this.db
          .prepare(
            `INSERT INTO adapters (id, name, format, content_hash, object_hash, size_bytes, sample, summary_json, detail_json, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            detail.id,
            detail.name,
            detail.format,
            contentHash,
            hash,
            detail.sizeBytes,
            sample ? 1 : 0,
            JSON.stringify(detailToSummary(detail)),
            JSON.stringify(detail),
            detail.createdAt,
          );
      } catch (error) {
        if (!existed) await this.blobs.remove(hash).catch(() => {});
        const again = this.db.prepare('SELECT id FROM adapters WHERE content_hash = ?').get(contentHash) as { id: string } | undefined;
        if (again) return { detail: this.get(again.id), duplicate: true };
        throw error;
      }
      this.listJson = undefined;
      return { detail, duplicate: false };
    } finally {
      if (!committed) await this.blobs.discard(staging).catch(() => {});
    }
  }

  /** Deletes an adapter unless a queued or running job reads it. */
  async delete(id: string, queue: JobQueue): Promise<void> {
    const row = this.db.prepare('SELECT * FROM adapters WHERE id = ?').get(id) as AdapterRow | undefined;
    if (!row) throw notFound('adapter', id);
    if (queue.isAdapterInUse(id)) {
      throw new HttpError('ADAPTER_IN_USE', `adapter ${id} is used by a queued or running job; cancel the job or wait for it to finish`, { id });
    }
    this.db.prepare('DELETE FROM adapters WHERE id = ?').run(id);
    this.listJson = undefined;
    const shared = this.db.prepare('SELECT 1 FROM adapters WHERE object_hash = ?').get(row.object_hash);
    if (!shared) await this.blobs.remove(row.object_hash);
  }
}

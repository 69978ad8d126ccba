// Opens the server's SQLite database: WAL, synchronous=FULL (job transitions
// survive power loss), a busy timeout, foreign keys, then the migrations.
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { readdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpError } from '../errors.ts';

export type { Db };

const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** Numbered files `NNN-name.sql`, in order; numbering must be 1, 2, 3… without gaps. */
export function listMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const out: Migration[] = [];
  for (const name of readdirSync(dir).sort()) {
    const match = /^(\d{3})-[a-z0-9-]+\.sql$/.exec(name);
    if (!match) continue;
    out.push({ version: Number(match[1]), name, sql: readFileSync(join(dir, name), 'utf8') });
  }
  out.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration numbering has a gap at ${m.name}`);
  });
  return out;
}

/** Applies pending migrations in one transaction each; refuses a schema newer than this build knows. */
export function migrate(db: Db, migrations: readonly Migration[] = listMigrations()): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  const known = migrations.length;
  if (current > known) {
    throw new HttpError('SCHEMA_TOO_NEW', `the database schema is version ${current}, newer than this build knows (${known}); upgrade adapter-workbench`, {
      schemaVersion: current,
      known,
    });
  }
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  return known;
}

export function openDb(path: string): Db {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  try {
    migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

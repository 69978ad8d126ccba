// Bundled samples, registered on the first start with an empty data dir so
// the dashboard has something to show: the tiny generated adapters in
// fixtures/adapters/ and a few published adapters from fixtures/real/.
import { copyFile, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Services } from './services.ts';
import { decideAdapterFile } from './routes/adapters.ts';
import { REPO_ROOT } from './config.ts';
import type { StagedAdapterFile } from './adapters/adapter-store.ts';
import { sha256File } from '../src/util/hash.ts';

export const SAMPLE_REAL_ADAPTERS = ['gpt2-tigrinya', 'gpt2-anirudh', 'gemma3-logo', 'gemma3-svg-main', 'distilbert-imdb', 'distilbert-emotion'] as const;
export const SAMPLE_BASE = 'real/base-tinygpt2';

/** Copies one sample folder (or file) into staging under the names an upload would get. */
async function registerSample(services: Services, path: string, label: string): Promise<void> {
  const info = await stat(path);
  const entries = info.isDirectory() ? (await readdir(path)).sort().map((n) => ({ label: n, path: join(path, n) })) : [{ label: basename(path), path }];
  const staging = await services.blobs.stage();
  const files: StagedAdapterFile[] = [];
  try {
    for (const entry of entries) {
      const decision = decideAdapterFile(entry.label, files.map((f) => f.name));
      if (decision === 'skip') continue;
      await copyFile(entry.path, join(staging, decision.storedName));
      const size = (await stat(entry.path)).size;
      files.push({ name: decision.storedName, label: entry.label, sha256: await sha256File(entry.path), sizeBytes: size });
    }
  } catch (error) {
    await services.blobs.discard(staging);
    throw error;
  }
  await services.adapters.register(staging, files, label, true);
}

export interface SampleReport {
  readonly registered: string[];
  readonly failed: { name: string; reason: string }[];
}

export async function registerSamples(services: Services, fixturesDir: string = join(REPO_ROOT, 'fixtures')): Promise<SampleReport> {
  const registered: string[] = [];
  const failed: { name: string; reason: string }[] = [];
  const candidates: { path: string; label: string }[] = [];
  const generated = join(fixturesDir, 'adapters');
  for (const name of (await readdir(generated).catch(() => [] as string[])).sort()) {
    if (name.startsWith('.') || name.endsWith('.md') || name.endsWith('.json') || name.endsWith('.ts') || name.endsWith('.py')) continue;
    candidates.push({ path: join(generated, name), label: name.replace(/\.safetensors$/, '') });
  }
  for (const name of SAMPLE_REAL_ADAPTERS) candidates.push({ path: join(fixturesDir, 'real', name), label: name });
  for (const c of candidates) {
    try {
      await registerSample(services, c.path, c.label);
      registered.push(c.label);
    } catch (error) {
      failed.push({ name: c.label, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  try {
    await services.bases.registerTrusted(join(fixturesDir, SAMPLE_BASE), 'base-tinygpt2', SAMPLE_BASE);
    registered.push('base-tinygpt2');
  } catch (error) {
    failed.push({ name: 'base-tinygpt2', reason: error instanceof Error ? error.message : String(error) });
  }
  return { registered, failed };
}

// The built dashboard: web/dist, rebuilt with vite when missing or older than
// any file in web/src (or web/index.html). A failed build is reported, and the
// API is served anyway with a page saying so.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from './config.ts';

/** Longest a dashboard build may take before the server starts without it. */
export const DASHBOARD_BUILD_TIMEOUT_MS = 240_000;

async function newestMtime(path: string): Promise<number> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of await readdir(path)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    newest = Math.max(newest, await newestMtime(join(path, entry)));
  }
  return newest;
}

export async function dashboardIsStale(webDist: string): Promise<boolean> {
  const index = join(webDist, 'index.html');
  if (!existsSync(index)) return true;
  const built = (await stat(index)).mtimeMs;
  const sources = Math.max(await newestMtime(join(REPO_ROOT, 'web', 'src')), await newestMtime(join(REPO_ROOT, 'web', 'index.html')));
  return sources > built;
}

function runBuild(log: (line: string) => void): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('npx', ['vite', 'build', '--config', 'web/vite.config.ts'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      log('dashboard build timed out; serving the API without it');
      child.kill('SIGTERM');
    }, DASHBOARD_BUILD_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ ok: false, output: `${output}\n${error.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, output });
    });
  });
}

export async function ensureDashboard(
  webDist: string,
  build: boolean,
  log: (line: string) => void,
): Promise<{ webDist: string | null; error?: string }> {
  const stale = await dashboardIsStale(webDist);
  if (!stale) return { webDist };
  if (!build || !existsSync(join(REPO_ROOT, 'web', 'vite.config.ts'))) {
    return existsSync(join(webDist, 'index.html')) ? { webDist } : { webDist: null, error: 'the dashboard is not built (run npm run build)' };
  }
  log('building the dashboard (vite)…');
  const result = await runBuild(log);
  if (result.ok && existsSync(join(webDist, 'index.html'))) return { webDist };
  log(`dashboard build failed:\n${result.output}`);
  return { webDist: null, error: `vite build failed:\n${result.output.slice(-1500)}` };
}

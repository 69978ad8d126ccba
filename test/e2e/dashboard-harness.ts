// Shared pieces of the dashboard end-to-end tests: find Chromium, start a real `awb serve` child
// process on a free port with its own data folder, and stop it again.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHROMIUM_PATH = process.env['AWB_CHROMIUM'] ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const SCREENSHOT_DIR = resolve(REPO_ROOT, 'test-results', 'dashboard');

/** Why the browser suite cannot run here, or null when it can. In CI a missing browser is a failure. */
export function chromiumUnavailable(): string | null {
  if (existsSync(CHROMIUM_PATH)) return null;
  return `no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium, or set AWB_CHROMIUM)`;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

export interface ServerHandle {
  readonly url: string;
  readonly dataDir: string;
  readonly output: () => string;
  stop(): Promise<void>;
}

/** Starts `node bin/awb.js serve` and resolves once it prints that it listens. */
export async function startServer(extraArgs: readonly string[] = [], timeoutMs = 240_000): Promise<ServerHandle> {
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), 'awb-e2e-'));
  const child: ChildProcess = spawn(process.execPath, ['bin/awb.js', 'serve', '--port', String(port), '--data', dataDir, ...extraArgs], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AWB_TOKEN: '' },
  });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`awb serve did not start within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const check = (): void => {
      if (/listening on http/.test(output)) {
        clearTimeout(timer);
        ready();
      }
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`awb serve exited with ${code} before listening:\n${output}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    dataDir,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((done) => child.once('exit', done));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function ensureScreenshotDir(): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  return SCREENSHOT_DIR;
}

import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.ts';
import type { CliIo } from '../../../src/cli/command.ts';
import { TOOL_VERSION } from '../../../src/version.ts';

function fakeIo(env: Record<string, string | undefined> = {}): CliIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (t: string) => (out += t) },
    stderr: { write: (t: string) => (err += t) },
    env,
    cwd: process.cwd(),
    signal: new AbortController().signal,
    out: () => out,
    err: () => err,
  };
}

describe('awb doctor', () => {
  it('reports Node, tool version, CPU and every backend candidate as JSON', async () => {
    const io = fakeIo();
    expect(await main(['doctor', '--json'], io)).toBe(0);
    const report = JSON.parse(io.out());
    expect(report.tool.version).toBe(TOOL_VERSION);
    expect(report.node.version).toBe(process.version);
    expect(report.cpu.cores).toBeGreaterThan(0);
    expect(typeof report.cpu.avx512f === 'boolean' || report.cpu.avx512f === null).toBe(true);
    const ids = report.backends.map((c: { id: string }) => c.id);
    expect(ids).toEqual(['tensorflow-gpu', 'tensorflow-cpu', 'webgpu', 'wasm', 'ts', 'cpu']);
    // Every candidate was probed (except a second provider of the same backend) and says why it was (not) chosen.
    for (const c of report.backends) {
      expect(c.available === null ? c.reason.startsWith('not probed') : typeof c.available === 'boolean').toBe(true);
      expect(c.reason.length).toBeGreaterThan(0);
    }
    const chosen = report.backends.filter((c: { chosen: boolean }) => c.chosen);
    expect(chosen).toHaveLength(1);
    expect(report.chosen.name).toBe(chosen[0].name);
    expect(report.gpu.found).toBe(report.backends.some((c: { available: boolean; isGpu?: boolean }) => c.available && c.isGpu));
  });

  it('honours AWB_BACKEND and prints a readable table', async () => {
    const io = fakeIo({ AWB_BACKEND: 'ts' });
    expect(await main(['doctor'], io)).toBe(0);
    expect(io.out()).toContain(`adapter-workbench ${TOOL_VERSION}`);
    expect(io.out()).toMatch(/chosen backend: ts — CPU \(TypeScript, f64/);
    expect(io.out()).toMatch(/\* ts /);
  });

  it('exits 1 and still lists the candidates when the requested backend cannot load', async () => {
    const probe = fakeIo();
    await main(['doctor', '--json'], probe);
    if (JSON.parse(probe.out()).backends.some((c: { name: string; available: boolean }) => c.name === 'tensorflow' && c.available)) {
      console.log('[doctor] tfjs-node is installed here; the unavailable case is not exercised');
      return;
    }
    const io = fakeIo();
    expect(await main(['doctor', '--json', '--backend', 'tensorflow'], io)).toBe(1);
    const report = JSON.parse(io.out());
    expect(report.chosen).toBeNull();
    expect(report.error.code).toBe('BACKEND_UNAVAILABLE');
    expect(report.backends).toHaveLength(6);
  });

  it('rejects an unknown backend name with BACKEND_UNKNOWN', async () => {
    const io = fakeIo();
    expect(await main(['doctor', '--backend', 'cuda'], io)).toBe(1);
    expect(io.err()).toContain('error [BACKEND_UNKNOWN]');
  });
});

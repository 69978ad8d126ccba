import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.ts';
import { TOOL_VERSION } from '../../../src/version.ts';
import { fakeCliIo } from '../../helpers/cli-io.ts';

describe('awb doctor', () => {
  it('reports Node, tool version, CPU and every backend candidate as JSON', async () => {
    const cli = fakeCliIo();
    expect(await main(['doctor', '--json'], cli.io)).toBe(0);
    const report = JSON.parse(cli.out());
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
    const cli = fakeCliIo({ env: { AWB_BACKEND: 'ts' } });
    expect(await main(['doctor'], cli.io)).toBe(0);
    expect(cli.out()).toContain(`adapter-workbench ${TOOL_VERSION}`);
    expect(cli.out()).toMatch(/chosen backend: ts — CPU \(TypeScript, f64/);
    expect(cli.out()).toMatch(/\* ts /);
  });

  it('exits 1 and still lists the candidates when the requested backend cannot load', async () => {
    const probe = fakeCliIo();
    await main(['doctor', '--json'], probe.io);
    if (JSON.parse(probe.out()).backends.some((c: { name: string; available: boolean }) => c.name === 'tensorflow' && c.available)) {
      console.log('[doctor] tfjs-node is installed here; the unavailable case is not exercised');
      return;
    }
    const cli = fakeCliIo();
    expect(await main(['doctor', '--json', '--backend', 'tensorflow'], cli.io)).toBe(1);
    const report = JSON.parse(cli.out());
    expect(report.chosen).toBeNull();
    expect(report.error.code).toBe('BACKEND_UNAVAILABLE');
    expect(report.backends).toHaveLength(6);
  });

  it('rejects an unknown backend name with BACKEND_UNKNOWN', async () => {
    const cli = fakeCliIo();
    expect(await main(['doctor', '--backend', 'cuda'], cli.io)).toBe(1);
    expect(cli.err()).toContain('error [BACKEND_UNKNOWN]');
  });
});

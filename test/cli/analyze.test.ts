// `awb analyze` through main([...], fakeCliIo): reports written, summary lines, the disk cache
// answering a second run, mitigation, and argument errors as one line with their code.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { validateReport } from '../../src/report/schema.ts';
import { TOOL_VERSION } from '../../src/version.ts';
import { loadAdapter } from '../../src/adapter/load-adapter.ts';
import { fakeCliIo } from '../helpers/cli-io.ts';
import { suiteTempDir } from '../helpers/temp-dir.ts';

const dir = suiteTempDir('awb-cli-analyze-');

describe('awb analyze', () => {
  it('with --base writes JSON, HTML and Markdown; a second run on the same base is answered by the cache', async () => {
    const cache = join(dir, 'cache');
    const args = ['analyze', '--adapter', 'fixtures/real/tinygpt2-ih', '--base', 'fixtures/real/base-tinygpt2', '--cache-dir', cache, '--quiet'];
    const first = fakeCliIo();
    const json = join(dir, 'r.json');
    expect(await main([...args, '--json', json, '--html', join(dir, 'r.html'), '--md', join(dir, 'r.md')], first.io)).toBe(0);
    expect(first.out()).toContain(`adapter-workbench ${TOOL_VERSION} · analyze`);
    expect(first.out()).toMatch(/intruders tinygpt2-ih: ε=0\.5: \d+ \(k=10, 6 modules, 6 full SVDs, 0 from cache\)/);
    const report = validateReport(JSON.parse(await readFile(json, 'utf8')));
    expect(report.settings.cacheDir).toBe(cache);
    expect((await readFile(join(dir, 'r.html'), 'utf8')).length).toBeGreaterThan(500_000);
    expect(await readFile(join(dir, 'r.md'), 'utf8')).toContain('## Intruder dimensions');
    const second = fakeCliIo();
    const json2 = join(dir, 'r2.json');
    expect(await main([...args, '--json', json2], second.io)).toBe(0);
    expect(second.out()).toContain('6 from cache');
    const again = validateReport(JSON.parse(await readFile(json2, 'utf8')));
    expect(again.modules.every((m) => m.intruders!.base.decompositions === 0)).toBe(true);
    expect(again.intruders![0]!.counts).toEqual(report.intruders![0]!.counts);
  });

  it('without a base compares two adapters and prints the overlap', async () => {
    const { io, out } = fakeCliIo();
    expect(await main(['analyze', 'fixtures/real/gemma3-logo', 'fixtures/real/gemma3-svg-main', '--modules', 'layers.0.', '--quiet', '--no-cache'], io)).toBe(0);
    expect(out()).toMatch(/overlap {3}gemma3-logo ↔ gemma3-svg-main: column \d\.\d{4}, row \d\.\d{4}, sign conflict \d\.\d{4} over 2 modules/);
  });

  it('--mitigate writes a PEFT adapter that loads back', async () => {
    const { io, out } = fakeCliIo();
    const target = join(dir, 'mitigated');
    expect(await main(['analyze', '--adapter', 'fixtures/real/tinygpt2-ih', '--base', 'fixtures/real/base-tinygpt2', '--no-cache', '--quiet', '--mitigate', target, '--lambda', '0'], io)).toBe(0);
    expect(out()).toMatch(/mitigate {2}λ=0, ε=0\.5: \d+ of 6 modules changed/);
    const reloaded = await loadAdapter(target);
    expect(reloaded.modules).toHaveLength(6);
    await reloaded.close();
  });

  it('refuses bad arguments with INVALID_ARGUMENT and exit code 2', async () => {
    for (const args of [['analyze'], ['analyze', 'x', '--route', 'fast'], ['analyze', 'x', '--epsilon', 'abc'], ['analyze', 'x', '--mitigate', 'out']]) {
      const { io, err } = fakeCliIo();
      expect(await main(args, io)).toBe(2);
      expect(err()).toMatch(/^error \[INVALID_ARGUMENT\]/);
    }
  });

  it('a missing adapter path is one line with its code, no stack trace', async () => {
    const { io, err } = fakeCliIo();
    expect(await main(['analyze', 'fixtures/real/does-not-exist', '--quiet', '--no-cache'], io)).toBe(1);
    expect(err().split('\n').filter(Boolean)).toHaveLength(1);
    expect(err()).toMatch(/^error \[[A-Z_]+\]/);
  });
});

// `awb inspect` through main([...], fakeCliIo): text summary, --json report against the numpy
// golden, errors as one line with their code and the exit codes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import type { InspectReport } from '../../src/adapter/inspect-adapter.ts';
import { TOOL_VERSION } from '../../src/version.ts';
import { sha256Bytes } from '../../src/util/hash.ts';
import { fakeCliIo } from '../helpers/cli-io.ts';
import { REPO_ROOT } from '../helpers/paths.ts';


describe('awb inspect', () => {
  it('prints format, base, ranks "rank 8 (all 12 modules)", scale, targets, extras, version, hashes and the compute line', async () => {
    const { io, out } = fakeCliIo();
    expect(await main(['inspect', 'fixtures/real/gpt2-anirudh'], io)).toBe(0);
    const text = out();
    expect(text).toContain(`adapter-workbench ${TOOL_VERSION}`);
    expect(text).toMatch(/format\s+peft/);
    expect(text).toMatch(/base\s+gpt2/);
    expect(text).toContain('rank 8 (all 12 modules)');
    expect(text).toContain('scale 1 (all 12 modules)');
    expect(text).toContain('linear_fan_in_fan_out (all 12 modules)');
    expect(text).toMatch(/targets\s+c_attn \(12\)/);
    expect(text).toContain('base_model.model.score.weight  F32 [6, 768]  (modules_to_save)');
    const sha = sha256Bytes(readFileSync(join(REPO_ROOT, 'fixtures/real/gpt2-anirudh/adapter_model.safetensors')));
    expect(text).toContain(`sha256 ${sha}`);
    expect(text).toMatch(/compute\s+ts \(factored norms\)/);
    expect(text).toMatch(/transformer\.h\.0\.attn\.c_attn\s+2304×768\s+8\s+1\s+41\.2659/);
  });

  it('--json emits the schema-versioned report whose norms match the numpy golden', async () => {
    const { io, out } = fakeCliIo();
    expect(await main(['inspect', 'fixtures/adapters/llama-c', '--json'], io)).toBe(0);
    const report = JSON.parse(out()) as InspectReport;
    const golden = JSON.parse(readFileSync(join(REPO_ROOT, 'fixtures/golden/adapters/sample-llama-c.json'), 'utf8')) as {
      modules: Record<string, { deltaNorm: number; scale: number; rank: number }>;
    };
    expect(report.schemaVersion).toBe(1);
    expect(report.compute).toBe('ts (factored norms)');
    expect(report.tool.version).toBe(TOOL_VERSION);
    expect(report.summary.ranks).toEqual([
      { value: 8, count: 6 },
      { value: 4, count: 2 },
    ]);
    expect(report.modules).toHaveLength(8);
    for (const m of report.modules) {
      const g = golden.modules[m.name]!;
      expect(m.rank).toBe(g.rank);
      expect(Math.abs(m.scale - g.scale)).toBeLessThan(1e-12);
      expect(Math.abs(m.deltaNorm! - g.deltaNorm) / g.deltaNorm).toBeLessThan(1e-9);
    }
    expect(report.adapter.files.map((f) => f.name)).toEqual(['adapter_model.safetensors', 'adapter_config.json']);
  });

  it('reports NaN/Inf counts by default and fails with ADAPTER_NONFINITE under --strict', async () => {
    const lenient = fakeCliIo();
    expect(await main(['inspect', 'fixtures/malformed/adapters/nan-values', '--json'], lenient.io)).toBe(0);
    expect((JSON.parse(lenient.out()) as InspectReport).summary.nonFiniteValues).toBe(3);
    const strict = fakeCliIo();
    expect(await main(['inspect', 'fixtures/malformed/adapters/nan-values', '--strict'], strict.io)).toBe(1);
    expect(strict.err()).toMatch(/^error \[ADAPTER_NONFINITE\]: nan-values\/adapter_model\.safetensors: .*q_proj/);
  });

  it('refuses a full model with one line naming the code and the file, exit code 1, no stack', async () => {
    const { io, err, out } = fakeCliIo();
    expect(await main(['inspect', 'fixtures/real/base-tinygpt2'], io)).toBe(1);
    expect(out()).toBe('');
    expect(err()).toMatch(/^error \[ADAPTER_NOT_FOUND\]: base-tinygpt2\/model\.safetensors: holds 28 tensors/);
    expect(err().split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('exits 2 on a missing PATH and 1 on a path that does not exist', async () => {
    const none = fakeCliIo();
    expect(await main(['inspect'], none.io)).toBe(2);
    expect(none.err()).toContain('INVALID_ARGUMENT');
    const missing = fakeCliIo();
    expect(await main(['inspect', 'no/such/adapter'], missing.io)).toBe(1);
    expect(missing.err()).toMatch(/^error \[FILE_NOT_FOUND\]/);
  });

  it('--no-norms skips the factors and leaves the norms null', async () => {
    const { io, out } = fakeCliIo();
    expect(await main(['inspect', 'fixtures/adapters/mlx-sample', '--json', '--no-norms'], io)).toBe(0);
    const report = JSON.parse(out()) as InspectReport;
    expect(report.adapter.format).toBe('mlx');
    expect(report.modules.every((m) => m.deltaNorm === null)).toBe(true);
    expect(report.summary.totalDeltaNorm).toBeNull();
  });
});

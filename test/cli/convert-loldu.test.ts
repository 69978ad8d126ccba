// `awb convert` of a LoLDU adapter (vector_z only) through main([...], fakeCliIo): with --base (a file, a
// folder or a shard index) it writes a PEFT LoRA that reloads with ΔW within 1e-6 of the numpy golden
// (fixtures/families/generate_loldu.py; F32 output), reporting every module as an exact conversion and the
// base's sha256; without --base it stops with FAMILY_UNSUPPORTED naming the module and --base.
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { loadAdapter } from '../../src/adapter/load-adapter.ts';
import { matmul } from '../../src/tensor/matrix.ts';
import { sha256File } from '../../src/util/hash.ts';
import { TOOL_VERSION } from '../../src/version.ts';
import { fakeCliIo } from '../helpers/cli-io.ts';
import { FIXTURES } from '../helpers/paths.ts';

const FAM = join(FIXTURES, 'families');
interface Golden {
  modules: Record<string, { rows: number; cols: number; norm: number; delta: number[] }>;
}
const golden = JSON.parse(readFileSync(join(FIXTURES, 'golden', 'families', 'loldu.json'), 'utf8')) as Golden;

interface Report {
  tool: { version: string };
  input: { format: string; files: { name: string; sha256: string }[] };
  base: { name: string; sha256: string } | null;
  modules: { name: string; family: string; conversion: string; rankIn: number; rankOut: number; relativeError: number }[];
}

let dir: string;
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const f = fakeCliIo({ cwd: dir });
  const code = await main(['convert', ...args], f.io);
  return { code, out: f.out(), err: f.err() };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'awb-cli-loldu-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** max over modules of ‖scale·B·A − golden‖_F / ‖golden‖_F of the PEFT adapter at `path`. */
async function maxError(path: string): Promise<number> {
  const adapter = await loadAdapter(path);
  try {
    expect(adapter.format).toBe('peft');
    expect(adapter.modules.map((m) => m.name).sort()).toEqual(Object.keys(golden.modules).sort());
    let worst = 0;
    for (const m of adapter.modules) {
      const g = golden.modules[m.name]!;
      const d = matmul((await m.load()).B, (await m.load()).A);
      let diff = 0;
      for (let i = 0; i < g.delta.length; i++) diff += (m.scale * d.data[i]! - g.delta[i]!) ** 2;
      worst = Math.max(worst, Math.sqrt(diff) / g.norm);
    }
    return worst;
  } finally {
    await adapter.close();
  }
}

describe('awb convert of a LoLDU adapter', () => {
  for (const [label, base, identity] of [
    ['model.safetensors', join(FAM, 'loldu-base', 'model.safetensors'), join(FAM, 'loldu-base', 'model.safetensors')],
    ['a folder', join(FAM, 'loldu-base'), join(FAM, 'loldu-base', 'model.safetensors')],
    ['a shard index', join(FAM, 'loldu-base-sharded', 'model.safetensors.index.json'), join(FAM, 'loldu-base-sharded', 'model.safetensors.index.json')],
  ] as const) {
    it(`--base ${label}: reloads as PEFT LoRA with ΔW within 1e-6 of numpy's, every module exact, base sha256 reported`, async () => {
      const out = join(dir, `out-${label.replace(/\W+/g, '-')}`);
      const r = await run([join(FAM, 'loldu'), '--base', base, '-o', out]);
      expect([r.code, r.err]).toEqual([0, '']);
      expect(r.out).toContain('loldu');
      expect(await maxError(out)).toBeLessThan(1e-6);
      const report = JSON.parse(await readFile(join(out, 'convert-report.json'), 'utf8')) as Report;
      expect(report.tool.version).toBe(TOOL_VERSION);
      expect(report.input.format).toBe('loldu');
      expect(report.input.files[0]!.sha256).toBe(await sha256File(join(FAM, 'loldu', 'adapter_model.safetensors')));
      expect(report.base!.sha256).toBe(await sha256File(identity));
      expect(report.modules.map((m) => [m.family, m.conversion, m.rankIn, m.rankOut, m.relativeError])).toEqual(
        Object.keys(golden.modules).map(() => ['loldu', 'exact', 2, 2, 0]),
      );
    });
  }

  it('--base with --rank 1 truncates the exact LoRA form (error per module reported, within (0, 1))', async () => {
    const r = await run([join(FAM, 'loldu'), '--base', join(FAM, 'loldu-base'), '--rank', '1', '--json', '-o', 'cut']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as Report;
    expect(report.modules.every((m) => m.conversion === 'truncated' && m.rankOut === 1 && m.relativeError > 0 && m.relativeError < 1)).toBe(true);
  });

  it('without --base: FAMILY_UNSUPPORTED naming the module, saying LoLDU holds only z and asking for --base', async () => {
    const r = await run([join(FAM, 'loldu'), '-o', 'nobase']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error \[FAMILY_UNSUPPORTED\]: loldu\/adapter_model\.safetensors: module "model\.layers\.[^"]+": LoLDU files hold only z .*awb convert IN --base BASE -o OUT\/\)\n$/);
  });
});

// `awb convert` through main([...], fakeCliIo): LyCORIS LoHa / LoKr → PEFT reloaded and compared with the
// numpy goldens (fixtures/golden/families/, made by fixtures/families/generate.py), truncation errors
// against numpy's, exact export back to LoHa / LoKr, refusals with their codes, DoRA with a base weight
// (algorithms.md A21, hand-checkable), atomic output on Ctrl-C.
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { loadAdapter } from '../../src/adapter/load-adapter.ts';
import { openSafetensors } from '../../src/safetensors/reader.ts';
import { floatTensor, writeSafetensors } from '../../src/safetensors/writer.ts';
import { matmul } from '../../src/tensor/matrix.ts';
import { sha256File } from '../../src/util/hash.ts';
import { TOOL_VERSION } from '../../src/version.ts';
import { fakeCliIo } from '../helpers/cli-io.ts';
import { FIXTURES } from '../helpers/paths.ts';

const FAM = join(FIXTURES, 'families');
interface Golden {
  modules: Record<string, { rows: number; cols: number; norm: number; delta: number[] }>;
  truncation?: { module: string; rank: number; relativeError: number; singularValues: number[] };
}
const golden = (c: string): Golden => JSON.parse(readFileSync(join(FIXTURES, 'golden', 'families', `${c}.json`), 'utf8')) as Golden;

interface Report {
  tool: { version: string };
  to: string;
  input: { format: string; files: { name: string; sha256: string }[] };
  backend: string;
  seed: number | null;
  base: { sha256: string } | null;
  modules: { name: string; family: string; conversion: string; written?: string; rankIn: number; rankOut: number; relativeError: number }[];
}
const readReport = async (out: string): Promise<Report> => JSON.parse(await readFile(join(out, 'convert-report.json'), 'utf8')) as Report;

/** ‖scale·B·A − golden‖_F / ‖golden‖_F per module of the adapter at `path`. */
async function errorsAgainst(path: string, want: Golden['modules']): Promise<Record<string, number>> {
  const adapter = await loadAdapter(path);
  try {
    expect(adapter.modules.map((m) => m.name).sort()).toEqual(Object.keys(want).sort());
    const out: Record<string, number> = {};
    for (const m of adapter.modules) {
      const g = want[m.name]!;
      const f = await m.load();
      const d = matmul(f.B, f.A);
      let diff = 0;
      for (let i = 0; i < g.delta.length; i++) diff += (m.scale * d.data[i]! - g.delta[i]!) ** 2;
      out[m.name] = Math.sqrt(diff) / g.norm;
    }
    return out;
  } finally {
    await adapter.close();
  }
}

let dir: string;
async function run(args: string[], signal?: AbortSignal): Promise<{ code: number; out: string; err: string }> {
  const f = fakeCliIo({ cwd: dir, ...(signal ? { signal } : {}) });
  const code = await main(['convert', ...args], f.io);
  return { code, out: f.out(), err: f.err() };
}
const leftovers = async (prefix: string): Promise<string[]> => (await readdir(dir)).filter((n) => n.includes(prefix));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'awb-cli-convert-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('awb convert to PEFT', () => {
  for (const c of ['lycoris-loha', 'lycoris-lokr']) {
    it(`${c} → PEFT reloads with every ΔW within 1e-6 of numpy's, report states version, input sha256 and backend`, async () => {
      const r = await run([join(FAM, `${c}.safetensors`), '-o', `${c}-peft`]);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      const out = join(dir, `${c}-peft`);
      expect((await readdir(out)).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'convert-report.json']);
      const errors = await errorsAgainst(out, golden(c).modules);
      for (const e of Object.values(errors)) expect(e).toBeLessThan(1e-6);
      const report = await readReport(out);
      expect(report.tool.version).toBe(TOOL_VERSION);
      expect(report.input.format).toBe('lycoris');
      expect(report.input.files[0]!.sha256).toBe(await sha256File(join(FAM, `${c}.safetensors`)));
      expect(report.backend).toMatch(/typescript-f64/);
      expect(report.seed).toBeNull();
      for (const m of report.modules) expect([m.conversion, m.relativeError, m.rankIn === m.rankOut]).toEqual(['exact', 0, true]);
      expect(report.modules.filter((m) => m.family === c.slice('lycoris-'.length))).not.toHaveLength(0);
      const config = JSON.parse(await readFile(join(out, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
      expect(config.peft_type).toBe('LORA');
    });
  }

  it("--rank 2 on LoKr: the reported error equals numpy's truncation error and the written adapter's measured error", async () => {
    const g = golden('lycoris-lokr');
    const t = g.truncation!;
    const r = await run([join(FAM, 'lycoris-lokr.safetensors'), '-o', 'lokr-r2', '--rank', String(t.rank), '--json']);
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.out) as Report & { outDir: string };
    const report = await readReport(join(dir, 'lokr-r2'));
    const row = report.modules.find((m) => m.name === t.module)!;
    expect([row.conversion, row.rankIn, row.rankOut]).toEqual(['truncated', 8, t.rank]);
    expect(Math.abs(row.relativeError - t.relativeError)).toBeLessThan(1e-9);
    expect(printed.modules).toEqual(report.modules);
    // Independent check: the error of the written factors against the dense numpy ΔW (F32 output: 1e-6).
    const measured = await errorsAgainst(join(dir, 'lokr-r2'), g.modules);
    for (const m of report.modules) expect(Math.abs(measured[m.name]! - m.relativeError)).toBeLessThan(1e-6);
  });

  it('--energy E: every module keeps ≥ E of its energy, so each reported error is ≤ √(1 − E) and matches the written adapter', async () => {
    const r = await run([join(FAM, 'lycoris-loha.safetensors'), '-o', 'loha-e', '--energy', '0.9']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/relative error max/);
    const report = await readReport(join(dir, 'loha-e'));
    const measured = await errorsAgainst(join(dir, 'loha-e'), golden('lycoris-loha').modules);
    for (const m of report.modules) {
      expect(m.relativeError).toBeLessThanOrEqual(Math.sqrt(0.1) + 1e-12);
      expect(Math.abs(measured[m.name]! - m.relativeError)).toBeLessThan(1e-6);
    }
  });

  it('--to kohya writes one kohya file in OUT/ that reloads with the same ΔW', async () => {
    const r = await run([join(FAM, 'lycoris-loha.safetensors'), '-o', 'loha-kohya', '--to', 'kohya']);
    expect(r.code).toBe(0);
    expect((await readdir(join(dir, 'loha-kohya'))).sort()).toEqual(['convert-report.json', 'lycoris-loha.safetensors']);
    const errors = await errorsAgainst(join(dir, 'loha-kohya', 'lycoris-loha.safetensors'), golden('lycoris-loha').modules);
    for (const e of Object.values(errors)) expect(e).toBeLessThan(1e-6);
  });
});

describe('awb convert back to LoHa / LoKr', () => {
  it('LoHa → PEFT LoRA → --to lokr is refused with FAMILY_STRUCTURE_MISSING naming the module; no OUT/ is left', async () => {
    expect((await run([join(FAM, 'lycoris-loha.safetensors'), '-o', 'loha-for-lokr'])).code).toBe(0);
    const r = await run(['loha-for-lokr', '--to', 'lokr', '-o', 'refused-lokr']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error \[FAMILY_STRUCTURE_MISSING\]: --to lokr: module "lora_te1_text_model_encoder_layers_0_mlp_fc1" is a plain LoRA \(rank 9\)/);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(await leftovers('refused-lokr')).toEqual([]);
  });

  it('--to loha of a LyCORIS LoHa writes its LoHa modules back bit for bit; the plain module needs --allow-embed', async () => {
    const src = join(FAM, 'lycoris-loha.safetensors');
    const refused = await run([src, '--to', 'loha', '-o', 'loha-back']);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/FAMILY_STRUCTURE_MISSING.*"lora_unet_plain"/);
    expect(await leftovers('loha-back')).toEqual([]);

    const r = await run([src, '--to', 'loha', '--allow-embed', '-o', 'loha-back']);
    expect(r.code).toBe(0);
    const report = await readReport(join(dir, 'loha-back'));
    expect(report.modules.map((m) => [m.name, m.written])).toEqual([
      ['lora_te1_text_model_encoder_layers_0_mlp_fc1', 'native'],
      ['lora_unet_down_blocks_0_attn_to_q', 'native'],
      ['lora_unet_plain', 'embedded'],
    ]);
    const a = await openSafetensors(src);
    const b = await openSafetensors(join(dir, 'loha-back', 'lycoris-loha.safetensors'));
    try {
      const keys = [...a.tensors.keys()].filter((k) => k.includes('hada_') || (!k.includes('plain') && k.endsWith('.alpha')));
      expect(keys.length).toBe(10);
      for (const k of keys) {
        expect(b.info(k).shape).toEqual(a.info(k).shape);
        expect(Buffer.from(await b.readBytes(k)).equals(Buffer.from(await a.readBytes(k)))).toBe(true);
      }
    } finally {
      await a.close();
      await b.close();
    }
    const errors = await errorsAgainst(join(dir, 'loha-back'), golden('lycoris-loha').modules);
    for (const e of Object.values(errors)) expect(e).toBeLessThan(1e-6);
  });

  it('--to lokr of a LyCORIS LoKr reloads as LoKr with every ΔW within 1e-6 of numpy', async () => {
    const r = await run([join(FAM, 'lycoris-lokr.safetensors'), '--to', 'lokr', '-o', 'lokr-back']);
    expect(r.code).toBe(0);
    const adapter = await loadAdapter(join(dir, 'lokr-back'));
    try {
      expect(adapter.modules.map((m) => m.family?.name)).toEqual(['lokr', 'lokr', 'lokr', 'lokr']);
    } finally {
      await adapter.close();
    }
    const errors = await errorsAgainst(join(dir, 'lokr-back'), golden('lycoris-lokr').modules);
    for (const e of Object.values(errors)) expect(e).toBeLessThan(1e-6);
  });

  it('--to loha of a PEFT LoHa folder writes a PEFT LoHa folder that reloads as peft-loha within 1e-6 of numpy', async () => {
    const r = await run([join(FAM, 'peft-loha'), '--to', 'loha', '-o', 'peft-loha-back']);
    expect(r.code).toBe(0);
    expect((await readdir(join(dir, 'peft-loha-back'))).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'convert-report.json']);
    const adapter = await loadAdapter(join(dir, 'peft-loha-back'));
    try {
      expect(adapter.format).toBe('peft-loha');
    } finally {
      await adapter.close();
    }
    const errors = await errorsAgainst(join(dir, 'peft-loha-back'), golden('peft-loha').modules);
    for (const e of Object.values(errors)) expect(e).toBeLessThan(1e-6);
  });

  it('--to loha with --rank is an INVALID_ARGUMENT (exit 2): truncation has no LoHa form', async () => {
    const r = await run([join(FAM, 'lycoris-loha.safetensors'), '--to', 'loha', '--rank', '2', '-o', 'loha-rank']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^error \[INVALID_ARGUMENT\]/);
  });
});

describe('awb convert with DoRA', () => {
  // A21: W0 = diag(3, 4), B = [[1],[0]], A = [[0, 1]], s = 1, g = [3.5, 4] → ΔW_eff = [[0.320391, 1.106797], [0, 0]].
  beforeAll(async () => {
    const folder = join(dir, 'dora');
    await mkdir(folder, { recursive: true });
    await writeSafetensors(join(folder, 'adapter_model.safetensors'), [
      floatTensor('base_model.model.h.0.lin.lora_A.weight', 'F32', [1, 2], [0, 1]),
      floatTensor('base_model.model.h.0.lin.lora_B.weight', 'F32', [2, 1], [1, 0]),
      floatTensor('base_model.model.h.0.lin.lora_magnitude_vector', 'F32', [2], [3.5, 4]),
    ]);
    await writeFile(join(folder, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 1, lora_alpha: 1, target_modules: ['lin'], use_dora: true }));
    await writeSafetensors(join(dir, 'base.safetensors'), [floatTensor('h.0.lin.weight', 'F32', [2, 2], [3, 0, 0, 4])]);
  });

  it('--base --rank 1 folds DoRA into a plain LoRA equal to the hand-computed effective delta (A21)', async () => {
    const r = await run(['dora', '--base', 'base.safetensors', '--rank', '1', '-o', 'dora-lora']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = await readReport(join(dir, 'dora-lora'));
    expect(report.seed).toBe(42);
    expect(report.base!.sha256).toBe(await sha256File(join(dir, 'base.safetensors')));
    expect(report.modules[0]).toMatchObject({ name: 'h.0.lin', family: 'dora', conversion: 'truncated', rankOut: 1 });
    expect(report.modules[0]!.relativeError).toBeLessThan(1e-6);
    const errors = await errorsAgainst(join(dir, 'dora-lora'), { 'h.0.lin': { rows: 2, cols: 2, norm: Math.hypot(0.320391, 1.106797), delta: [0.320391, 1.106797, 0, 0] } });
    expect(errors['h.0.lin']!).toBeLessThan(1e-5); // A21's values are given to 6 digits
    const adapter = await loadAdapter(join(dir, 'dora-lora'));
    try {
      expect(adapter.modules[0]!.hasDora).toBe(false);
    } finally {
      await adapter.close();
    }
  });

  it('without --base: --rank is refused with FAMILY_UNSUPPORTED, --to kohya too; --to peft keeps the magnitude', async () => {
    const cut = await run(['dora', '--rank', '1', '-o', 'dora-cut']);
    expect([cut.code, cut.err]).toEqual([1, expect.stringMatching(/^error \[FAMILY_UNSUPPORTED\]: module "h\.0\.lin" is DoRA.*--base/)]);
    const kohya = await run(['dora', '--to', 'kohya', '-o', 'dora-kohya']);
    expect(kohya.err).toMatch(/^error \[FAMILY_UNSUPPORTED\]/);
    expect([...(await leftovers('dora-cut')), ...(await leftovers('dora-kohya'))]).toEqual([]);
    expect((await run(['dora', '-o', 'dora-copy'])).code).toBe(0);
    const adapter = await loadAdapter(join(dir, 'dora-copy'));
    try {
      const f = await adapter.modules[0]!.load();
      expect([...f.doraMagnitude!]).toEqual([3.5, 4]);
    } finally {
      await adapter.close();
    }
  });
});

describe('awb convert failures', () => {
  it('an existing OUT/ is refused (ADAPTER_OUTPUT_EXISTS) and replaced with --overwrite', async () => {
    const src = join(FAM, 'peft-lokr');
    expect((await run([src, '-o', 'twice'])).code).toBe(0);
    expect((await run([src, '-o', 'twice'])).err).toMatch(/^error \[ADAPTER_OUTPUT_EXISTS\]/);
    expect((await run([src, '-o', 'twice', '--overwrite'])).code).toBe(0);
  });

  it('--rank with --energy, an unknown --to, and a missing -o are INVALID_ARGUMENT (exit 2)', async () => {
    const src = join(FAM, 'peft-lokr');
    for (const args of [[src, '-o', 'x1', '--rank', '2', '--energy', '0.9'], [src, '-o', 'x2', '--to', 'oft'], [src]]) {
      const r = await run(args);
      expect([r.code, r.err.slice(0, 26)]).toEqual([2, 'error [INVALID_ARGUMENT]: ']);
    }
  });

  it('VeRA without its saved bases is FAMILY_UNSUPPORTED, no stack trace', async () => {
    const r = await run([join(FAM, 'peft-vera-no-bases'), '-o', 'vera']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error \[FAMILY_UNSUPPORTED\]: .*save_projection=True\n$/);
  });

  it('Ctrl-C (io.signal) in the middle of the conversion leaves no OUT/ and no temp folder', async () => {
    // A signal that reports "aborted" from its 6th check on: after the loader's scan (3 checks), mid-export.
    let checks = 0;
    const signal = { get aborted() { return ++checks > 5; }, addEventListener() {}, removeEventListener() {} } as unknown as AbortSignal;
    const r = await run([join(FAM, 'lycoris-loha.safetensors'), '-o', 'aborted-out'], signal);
    expect(r.err).toMatch(/^error \[ABORTED\]: (convert|export) was cancelled/);
    expect(r.code).toBe(1);
    expect(checks).toBeGreaterThan(5);
    expect(await leftovers('aborted-out')).toEqual([]);
  });
});

describe('awb inspect family line', () => {
  it('shows the family, conversion and rank of each module group', async () => {
    const f = fakeCliIo();
    expect(await main(['inspect', join(FAM, 'lycoris-lokr.safetensors'), '--no-norms'], f.io)).toBe(0);
    expect(f.out()).toMatch(/^family {4}LoKr \(exact, rank 8\): 3 modules$/m);
    expect(f.out()).toMatch(/^family {4}LoKr \(exact, rank 6\): 1 module$/m);
  });
});

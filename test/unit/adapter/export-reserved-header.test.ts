// The exporters with a reserved header: tensor bytes go straight into the file, the header
// fills the reservation (space-padded), and the adapter reloads with the same ΔW; a reservation
// that is too small still gives a valid file (copy fallback), with nothing left beside it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writePeftAdapter } from '../../../src/adapter/export-peft.ts';
import { writeKohyaAdapter } from '../../../src/adapter/export-kohya.ts';
import { loadAdapter } from '../../../src/adapter/load-adapter.ts';
import { factoredRelativeDistance } from '../../../src/adapter/factored-norm.ts';
import type { ExportModule } from '../../../src/adapter/types.ts';
import { fromRows } from '../../../src/tensor/matrix.ts';
import { suiteTempDir } from '../../helpers/temp-dir.ts';

const TMP = suiteTempDir('awb-export-reserve-');

const modules = (): ExportModule[] => [
  { name: 'm.q_proj', A: fromRows([[1, -2, 0.5], [0.25, 3, -1]]), B: fromRows([[1, 2], [-0.5, 4]]), scale: 2, layout: { kind: 'linear' } },
  { name: 'm.v_proj', A: fromRows([[2, 0, -1]]), B: fromRows([[0.5], [1.5]]), scale: 0.5, layout: { kind: 'linear' } },
];

function headerLength(path: string): number {
  const bytes = readFileSync(path);
  return Number(bytes.readBigUInt64LE(0));
}

async function expectSameDeltas(path: string, names: (name: string) => string): Promise<void> {
  const back = await loadAdapter(path);
  try {
    for (const m of modules()) {
      const got = back.modules.find((x) => x.name === names(m.name))!;
      const f = await got.load();
      expect(factoredRelativeDistance(m.A, m.B, m.scale, f.A, f.B, got.scale)).toBeLessThan(1e-6);
    }
  } finally {
    await back.close();
  }
}

describe('exporters with a reserved header', () => {
  for (const reserve of [4096, 16]) {
    it(`PEFT, ${reserve} bytes reserved: reloads with the same ΔW${reserve === 16 ? ' (too small: copy fallback)' : ''}`, async () => {
      const out = join(TMP, `peft-${reserve}`);
      await writePeftAdapter(out, { modules: modules(), reserveHeaderBytes: reserve });
      const length = headerLength(join(out, 'adapter_model.safetensors'));
      if (reserve === 4096) expect(length).toBe(4096);
      else expect(length).toBeGreaterThan(16);
      expect(length % 8).toBe(0);
      expect(readdirSync(out).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
      await expectSameDeltas(out, (n) => n);
    });

    it(`kohya, ${reserve} bytes reserved: reloads with the same ΔW`, async () => {
      const dir = join(TMP, `kohya-${reserve}`);
      const file = join(dir, 'lora.safetensors');
      await writeKohyaAdapter(file, { modules: modules(), reserveHeaderBytes: reserve });
      if (reserve === 4096) expect(headerLength(file)).toBe(4096);
      expect(readdirSync(dir)).toEqual(['lora.safetensors']);
      await expectSameDeltas(file, (n) => `lora_${n.replace(/\./g, '_')}`);
    });
  }
});

// Per-module singular values for `GET /api/adapters/:id?spectra=1`, from the
// factored SVD (never forming ΔW). Cached by content hash: adapters are immutable.
import type { ModuleSpectrumDto } from '../dto.ts';
import { loadAdapter } from '../engine.ts';
import { factoredSvd } from '../../src/diagnostics/factored-svd.ts';

const cache = new Map<string, Promise<ModuleSpectrumDto[]>>();
const CACHE_ENTRIES = 64;

function summarize(module: string, s: Float64Array): ModuleSpectrumDto {
  const values = [...s];
  const sumSq = values.reduce((a, v) => a + v * v, 0);
  const sum = values.reduce((a, v) => a + v, 0);
  const top = values[0] ?? 0;
  let entropy = 0;
  for (const v of values) {
    const p = sum > 0 ? v / sum : 0;
    if (p > 0) entropy -= p * Math.log(p);
  }
  return {
    module,
    singularValues: values,
    effectiveRank: sum > 0 ? Math.exp(entropy) : 0,
    stableRank: top > 0 ? sumSq / (top * top) : 0,
  };
}

export function adapterSpectra(path: string, contentHash: string): Promise<ModuleSpectrumDto[]> {
  let hit = cache.get(contentHash);
  if (!hit) {
    hit = (async () => {
      const adapter = await loadAdapter(path);
      try {
        const out: ModuleSpectrumDto[] = [];
        for (const m of adapter.modules) {
          const { A, B } = await m.load();
          out.push(summarize(m.name, factoredSvd(B, A, m.scale).s));
          // Yield between modules so a large adapter does not hold the event loop.
          await new Promise((r) => setImmediate(r));
        }
        return out;
      } finally {
        await adapter.close();
      }
    })();
    hit.catch(() => cache.delete(contentHash));
    if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
    cache.set(contentHash, hit);
  }
  return hit;
}

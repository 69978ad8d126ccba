// A small in-memory Adapter for tests (format "memory"): factors given directly.
import type { Adapter, Layout, LoraModule } from '../../../src/adapter/types.ts';
import type { Mat } from '../../../src/tensor/matrix.ts';

export interface MemoryModule {
  readonly name: string;
  readonly B: Mat;
  readonly A: Mat;
  readonly scale?: number;
  readonly layout?: Layout;
}

export function memoryAdapter(name: string, modules: readonly MemoryModule[]): Adapter {
  const mods: LoraModule[] = modules.map((m) => ({
    name: m.name,
    outFeatures: m.B.rows,
    inFeatures: m.A.cols,
    rank: m.A.rows,
    alpha: m.A.rows * (m.scale ?? 1),
    scale: m.scale ?? 1,
    layout: m.layout ?? { kind: 'linear' },
    dtype: 'F64',
    hasDora: false,
    keys: { A: `${m.name}.lora_A.weight`, B: `${m.name}.lora_B.weight` },
    load: async () => ({ A: m.A, B: m.B }),
  }));
  return {
    format: 'memory',
    name,
    files: [{ name: `${name}.safetensors`, path: `memory:${name}`, sizeBytes: 0, sha256: '0'.repeat(64) }],
    baseModel: undefined,
    config: undefined,
    modules: mods.sort((a, b) => a.name.localeCompare(b.name)),
    extras: [],
    dtype: 'F64',
    warnings: [],
    close: async () => {},
  };
}

// Streams an adapter's modules as ExportModules, loading one module at a time.
import type { Adapter, ExportModule } from './types.ts';

export async function* adapterModules(adapter: Adapter, signal?: AbortSignal): AsyncGenerator<ExportModule> {
  for (const module of adapter.modules) {
    signal?.throwIfAborted();
    const f = await module.load();
    yield {
      name: module.name,
      A: f.A,
      B: f.B,
      scale: module.scale,
      layout: module.layout,
      ...(f.doraMagnitude ? { doraMagnitude: f.doraMagnitude } : {}),
    };
  }
}

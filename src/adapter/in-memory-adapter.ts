// inMemoryAdapter: an Adapter (format "memory") over factors already in memory — for
// merges that feed analyses without writing a file, and for tests.
import { WorkbenchError } from '../errors.ts';
import type { DType } from '../dtype.ts';
import type { Adapter, ExportModule, ExtraTensor, LoraModule } from './types.ts';
import { validateExportModule } from './export-tensors.ts';
import { compareModuleNames } from './module-order.ts';

export interface InMemoryAdapterOptions {
  readonly name: string;
  readonly modules: readonly ExportModule[];
  readonly baseModel?: string;
  readonly config?: Readonly<Record<string, unknown>>;
  readonly extras?: readonly ExtraTensor[];
  /** The dtype to report (the factors are f64 in memory). Default F32. */
  readonly dtype?: DType;
  readonly warnings?: readonly string[];
  readonly allowNonFinite?: boolean;
}

export function inMemoryAdapter(options: InMemoryAdapterOptions): Adapter {
  const dtype = options.dtype ?? 'F32';
  const seen = new Set<string>();
  const modules: LoraModule[] = options.modules.map((m) => {
    validateExportModule(m, options.allowNonFinite ?? false);
    if (seen.has(m.name)) {
      throw new WorkbenchError('ADAPTER_DUPLICATE_MODULE', `in-memory adapter "${options.name}": module "${m.name}" appears twice`, {
        details: { module: m.name },
      });
    }
    seen.add(m.name);
    const rank = m.A.rows;
    const factors = { A: m.A, B: m.B, ...(m.doraMagnitude ? { doraMagnitude: m.doraMagnitude } : {}) };
    return {
      name: m.name,
      outFeatures: m.B.rows,
      inFeatures: m.A.cols,
      rank,
      alpha: m.scale * rank,
      scale: m.scale,
      layout: m.layout,
      dtype,
      hasDora: m.doraMagnitude !== undefined,
      keys: { A: `${m.name}.A`, B: `${m.name}.B` },
      load: async () => factors,
    };
  });
  if (modules.length === 0) {
    throw new WorkbenchError('ADAPTER_EMPTY', `in-memory adapter "${options.name}" has no modules`, { details: { name: options.name } });
  }
  modules.sort((a, b) => compareModuleNames(a.name, b.name));
  return {
    format: 'memory',
    name: options.name,
    files: [],
    baseModel: options.baseModel,
    config: options.config,
    modules,
    extras: options.extras ?? [],
    dtype,
    warnings: options.warnings ?? [],
    close: async () => {},
  };
}

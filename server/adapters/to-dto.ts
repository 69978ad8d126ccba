// Builds the wire form of an adapter from the library's Adapter model. The
// server stores it once at registration; reads never reopen the files.
import type { Adapter } from '../../src/adapter/types.ts';
import type { AdapterDetailDto, AdapterModuleDto, AdapterSummaryDto, AdapterFileDto } from '../dto.ts';

export interface AdapterRecordInput {
  readonly id: string;
  readonly name: string;
  readonly contentHash: string;
  readonly files: readonly AdapterFileDto[];
  readonly sample: boolean;
  readonly createdAt: string;
  readonly inspect: Record<string, unknown> | null;
}

function targetOf(moduleName: string): string {
  const parts = moduleName.split('.');
  return parts[parts.length - 1] ?? moduleName;
}

export function adapterToDetail(adapter: Adapter, input: AdapterRecordInput): AdapterDetailDto {
  const modules: AdapterModuleDto[] = adapter.modules.map((m) => ({
    name: m.name,
    outFeatures: m.outFeatures,
    inFeatures: m.inFeatures,
    rank: m.rank,
    alpha: m.alpha,
    scale: m.scale,
    layout: m.layout.kind,
    dtype: m.dtype,
    hasDora: m.hasDora,
    params: m.rank * (m.outFeatures + m.inFeatures),
  }));
  const ranks = [...new Set(modules.map((m) => m.rank))].sort((a, b) => a - b);
  const targets = [...new Set(modules.map((m) => targetOf(m.name)))].sort();
  const summary: AdapterSummaryDto = {
    id: input.id,
    name: input.name,
    format: adapter.format,
    baseModel: adapter.baseModel ?? null,
    dtype: adapter.dtype,
    moduleCount: modules.length,
    ranks,
    maxRank: ranks.length === 0 ? 0 : (ranks[ranks.length - 1] ?? 0),
    targets,
    totalParams: modules.reduce((s, m) => s + m.params, 0),
    sizeBytes: input.files.reduce((s, f) => s + f.sizeBytes, 0),
    contentHash: input.contentHash,
    sample: input.sample,
    createdAt: input.createdAt,
  };
  return {
    ...summary,
    files: input.files,
    modules,
    extras: adapter.extras.map((e) => ({ key: e.key, dtype: e.dtype, shape: [...e.shape], role: e.role })),
    warnings: [...adapter.warnings],
    config: adapter.config ? (JSON.parse(JSON.stringify(adapter.config)) as Record<string, unknown>) : null,
    inspect: input.inspect,
  };
}

export function detailToSummary(detail: AdapterDetailDto): AdapterSummaryDto {
  const { id, name, format, baseModel, dtype, moduleCount, ranks, maxRank, targets, totalParams, sizeBytes, contentHash, sample, createdAt } = detail;
  return { id, name, format, baseModel, dtype, moduleCount, ranks, maxRank, targets, totalParams, sizeBytes, contentHash, sample, createdAt };
}

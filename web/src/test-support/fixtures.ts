// Builders for DTOs used by the component tests (shapes from server/dto.ts).
import type { AdapterDetailDto, AdapterModuleDto, AdapterSummaryDto } from '../api/types.ts';

export function summary(over: Partial<AdapterSummaryDto> & { id: string; name: string }): AdapterSummaryDto {
  return {
    format: 'peft',
    baseModel: 'google/gemma-3-270m-it',
    dtype: 'F32',
    moduleCount: 36,
    ranks: [4],
    maxRank: 4,
    targets: ['q_proj', 'v_proj'],
    totalParams: 1000,
    sizeBytes: 746_568,
    contentHash: 'f'.repeat(64),
    sample: false,
    createdAt: '2026-11-24T01:00:00.000Z',
    ...over,
  };
}

export function module(name: string, rank: number, m = 640, n = 640): AdapterModuleDto {
  return { name, outFeatures: m, inFeatures: n, rank, alpha: rank, scale: 1, layout: 'linear', dtype: 'F32', hasDora: false, params: rank * (m + n) };
}

export function detail(over: Partial<AdapterDetailDto> & { id: string; name: string; modules: AdapterModuleDto[] }): AdapterDetailDto {
  return {
    ...summary({ id: over.id, name: over.name }),
    files: [],
    extras: [],
    warnings: [],
    config: null,
    inspect: null,
    moduleCount: over.modules.length,
    ...over,
  };
}

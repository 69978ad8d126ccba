// The diagnostics report: one versioned JSON document (docs/report-schema.md) that
// the CLI writes, the HTML/Markdown renderers read, and the dashboard renders.
import { WorkbenchError } from '../errors.ts';
import type { ModuleSpectrum } from '../diagnostics/module-spectrum.ts';
import type { EpsilonCount, ModuleIntruderResult } from '../diagnostics/intruder-scan.ts';
import type { ModuleOverlap } from '../diagnostics/adapter-overlap.ts';

export const REPORT_SCHEMA_VERSION = 1;
export const REPORT_KIND = 'awb.diagnostics-report';

export interface FileHash {
  readonly file: string;
  readonly sha256: string;
}

export interface AdapterInput {
  readonly index: number;
  readonly name: string;
  readonly path: string;
  readonly format: string;
  readonly baseModel: string | null;
  readonly moduleCount: number;
  readonly sha256: readonly FileHash[];
}

/** The serialisable part of a module's intruder scan, plus which base tensor was W0. */
export interface ModuleIntruders
  extends Pick<ModuleIntruderResult, 'tunedSigma' | 'baseSigma' | 'vectors' | 'counts' | 'sweep' | 'similarity' | 'base' | 'quadratureSteps'> {
  /** Base tensor used as W0 and its sha256 (stored bytes). */
  readonly baseTensor: string;
  readonly baseTensorSha256: string;
  /** True when the stored base was n×m (Conv1D / fan_in_fan_out, embeddings) and was transposed. */
  readonly transposed: boolean;
}

export interface ModuleEntry {
  readonly adapter: string;
  readonly adapterIndex: number;
  readonly module: string;
  readonly layer: number | null;
  readonly moduleType: string;
  readonly shape: readonly [number, number];
  readonly rank: number;
  readonly scale: number;
  readonly layout: string;
  readonly spectrum: ModuleSpectrum;
  readonly intruders: ModuleIntruders | null;
}

export interface IntruderTotals {
  readonly adapter: string;
  readonly adapterIndex: number;
  readonly modules: number;
  readonly counts: EpsilonCount[];
  readonly sweep: EpsilonCount[];
  /** Counts at the first ε, per layer and module type (heatmap). */
  readonly byLayer: { readonly layer: number | null; readonly moduleType: string; readonly intruders: number }[];
  /** Modules whose base side needed a full SVD / were answered by the cache. */
  readonly fullSvdModules: number;
  readonly cachedModules: number;
}

export interface PairOverlap {
  readonly first: number;
  readonly second: number;
  readonly commonModules: number;
  readonly meanColumnOverlap: number;
  readonly meanRowOverlap: number;
  readonly meanSignConflict: number;
  readonly modules: ({ readonly module: string } & ModuleOverlap)[];
}

export interface UnitProjection {
  readonly module: string;
  /** Share of the variance on the two axes. */
  readonly explained: readonly [number, number];
  readonly points: {
    readonly adapterIndex: number;
    readonly rankIndex: number;
    readonly x: number;
    readonly y: number;
    readonly norm: number;
    /** LEGO cluster of this unit, when a merge report with an assignment was given. */
    readonly cluster: number | null;
  }[];
}

export interface RetentionEntry {
  readonly module: string;
  readonly source: 'merge-report' | 'recomputed';
  readonly inputs: { readonly input: string; readonly projection: number; readonly relativeError: number | null }[];
}

export interface Problem {
  readonly code: 'BASE_MODULE_MISSING' | 'BASE_SHAPE_MISMATCH';
  readonly adapter: string;
  readonly module: string;
  readonly message: string;
}

export interface DiagnosticsReport {
  readonly schemaVersion: typeof REPORT_SCHEMA_VERSION;
  readonly kind: typeof REPORT_KIND;
  readonly tool: { readonly name: string; readonly version: string };
  readonly createdAt: string;
  /** Where the numbers were computed, e.g. "ts-f64 (diagnostics kernels)". */
  readonly backend: string;
  readonly seed: number;
  readonly settings: {
    readonly k: number;
    readonly epsilons: number[];
    readonly sweep: number[];
    readonly route: 'auto' | 'full';
    readonly suggestedEnergy: number;
    readonly cacheDir: string | null;
  };
  readonly inputs: {
    readonly adapters: AdapterInput[];
    readonly base: { readonly path: string; readonly tensorsAnalysed: number } | null;
    readonly mergeReport: { readonly path: string; readonly sha256: string } | null;
  };
  readonly modules: ModuleEntry[];
  readonly intruders: IntruderTotals[] | null;
  readonly overlaps: PairOverlap[];
  readonly projections: UnitProjection[];
  readonly retention: RetentionEntry[];
  readonly problems: Problem[];
  readonly warnings: string[];
  readonly timings: { readonly seconds: number };
}

/** Checks the envelope and the top-level shapes; throws REPORT_INVALID naming the first problem. */
export function validateReport(value: unknown, label = 'report'): DiagnosticsReport {
  const fail = (why: string): never => {
    throw new WorkbenchError('REPORT_INVALID', `${label}: ${why}`, { details: { label } });
  };
  if (value === null || typeof value !== 'object') fail('not a JSON object');
  const r = value as Record<string, unknown>;
  if (r.kind !== REPORT_KIND) fail(`kind is ${JSON.stringify(r.kind)}, expected "${REPORT_KIND}"`);
  if (r.schemaVersion !== REPORT_SCHEMA_VERSION) {
    fail(`schemaVersion ${JSON.stringify(r.schemaVersion)} is not supported (this tool reads ${REPORT_SCHEMA_VERSION})`);
  }
  for (const key of ['modules', 'overlaps', 'projections', 'retention', 'problems', 'warnings'] as const) {
    if (!Array.isArray(r[key])) fail(`"${key}" must be an array`);
  }
  if (r.intruders !== null && !Array.isArray(r.intruders)) fail('"intruders" must be an array or null');
  for (const key of ['tool', 'settings', 'inputs'] as const) {
    if (r[key] === null || typeof r[key] !== 'object') fail(`"${key}" must be an object`);
  }
  if (typeof r.seed !== 'number' || typeof r.backend !== 'string') fail('"seed" and "backend" are required');
  return value as DiagnosticsReport;
}

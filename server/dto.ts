// Wire types of the HTTP API: what the server sends and accepts as JSON.
// The dashboard imports these with `import type`, so this file holds types
// only (no runtime imports). Changes are additive: new optional fields only.

/** Every error body. `code` is stable; `message` is for people; `details` names values seen. */
export interface ProblemDto {
  readonly code: string;
  readonly message: string;
  readonly details: Record<string, unknown>;
  /** Server-generated id of the request, also written to the server log. */
  readonly requestId?: string;
}

/** Where a LoRA delta maps onto the base weight. */
export type LayoutDto = 'linear' | 'linear_fan_in_fan_out' | 'embedding' | 'conv';

/** One low-rank module of an adapter: ΔW = scale · B · A, m × n. */
export interface AdapterModuleDto {
  readonly name: string;
  /** m: rows of ΔW (out_features). */
  readonly outFeatures: number;
  /** n: columns of ΔW (in_features, × kernel for conv). */
  readonly inFeatures: number;
  readonly rank: number;
  readonly alpha: number;
  readonly scale: number;
  readonly layout: LayoutDto;
  readonly dtype: string;
  readonly hasDora: boolean;
  /** Parameter count of the factors: r·(m + n). */
  readonly params: number;
}

export interface AdapterExtraDto {
  readonly key: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly role: string;
}

export interface AdapterFileDto {
  /** Sanitised display name of the uploaded file. */
  readonly name: string;
  readonly sizeBytes: number;
  readonly sha256: string;
}

/** Summary row of GET /api/adapters. */
export interface AdapterSummaryDto {
  /** Server id (ULID-like, 26 chars of Crockford base32). */
  readonly id: string;
  /** Display label (sanitised upload name, or sample name). */
  readonly name: string;
  /** 'peft' | 'kohya' | 'diffusers' | 'mlx' | 'memory'. */
  readonly format: string;
  readonly baseModel: string | null;
  readonly dtype: string;
  readonly moduleCount: number;
  /** Distinct ranks, ascending. */
  readonly ranks: readonly number[];
  readonly maxRank: number;
  /** Distinct target suffixes, e.g. ["q_proj", "v_proj"]. */
  readonly targets: readonly string[];
  readonly totalParams: number;
  readonly sizeBytes: number;
  /** sha256 over the content hashes of the adapter's files (dedup key). */
  readonly contentHash: string;
  /** True when registered from the bundled samples. */
  readonly sample: boolean;
  /** ISO-8601. */
  readonly createdAt: string;
}

/** GET /api/adapters/:id and POST /api/adapters (201). */
export interface AdapterDetailDto extends AdapterSummaryDto {
  readonly files: readonly AdapterFileDto[];
  readonly modules: readonly AdapterModuleDto[];
  readonly extras: readonly AdapterExtraDto[];
  readonly warnings: readonly string[];
  /** The adapter's own config (adapter_config.json or equivalent), if any. */
  readonly config: Record<string, unknown> | null;
  /** The full `awb inspect --json` output (shape owned by src/adapter), when available. */
  readonly inspect: Record<string, unknown> | null;
  /** Present with `?spectra=1`: singular values per module from the factored SVD. */
  readonly spectra?: readonly ModuleSpectrumDto[];
}

export interface ModuleSpectrumDto {
  readonly module: string;
  /** Singular values of scale·B·A, descending (length = rank). */
  readonly singularValues: readonly number[];
  readonly effectiveRank?: number;
  readonly stableRank?: number;
}

/** POST /api/adapters answers 200 with `duplicate: true` when the content was already registered. */
export interface AdapterUploadResultDto extends AdapterDetailDto {
  readonly duplicate: boolean;
}

export interface BaseDto {
  readonly id: string;
  readonly name: string;
  /** 'upload' or 'path' (registered from the allow-listed bases root). */
  readonly source: 'upload' | 'path';
  /** For source 'path': the path relative to the bases root. */
  readonly relativePath: string | null;
  readonly tensorCount: number;
  readonly sizeBytes: number;
  readonly contentHash: string;
  readonly createdAt: string;
}

/** POST /api/bases with JSON: register a base under the allow-listed root. */
export interface BaseRegisterRequestDto {
  /** Relative to the server's bases root (default fixtures/); absolute paths and `..` are refused. */
  readonly path: string;
  readonly name?: string;
}

export type JobKind = 'merge' | 'analysis';
export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface JobProgressDto {
  /** e.g. 'plan', 'merge', 'write', 'analyze'. */
  readonly phase: string;
  readonly step: number;
  readonly of: number;
  /** The module being processed, when the step is per-module. */
  readonly module?: string;
  readonly message?: string;
}

export interface JobDto {
  readonly id: string;
  readonly kind: JobKind;
  readonly state: JobState;
  readonly progress: JobProgressDto | null;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly cancelRequested: boolean;
  /** Adapter ids the job reads. */
  readonly inputs: readonly string[];
  /** The request as submitted (recipe or analysis request). */
  readonly request: Record<string, unknown>;
  readonly error: ProblemDto | null;
  /** Set when state is 'succeeded'. */
  readonly result: JobResultDto | null;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
}

export interface JobResultDto {
  /** Merge: GET /api/merges/:jobId/download. Analysis: GET /api/reports/:jobId. */
  readonly downloadUrl: string | null;
  readonly reportUrl: string | null;
  /** Content hash of the published output. */
  readonly outputHash: string;
  /** Merge: the merge-report.json; analysis: a small summary. */
  readonly summary: Record<string, unknown>;
}

/** POST /api/merges and /api/analyses: 202 (new) or 200 (existing, same Idempotency-Key or same content). */
export interface JobCreatedDto {
  readonly jobId: string;
  readonly job: JobDto;
  readonly existing: boolean;
}

/** SSE `event:` names of GET /api/jobs/:id/events; `data:` is the JSON below. `id:` is a sequence number. */
export type JobEventDto =
  | { readonly type: 'state'; readonly seq: number; readonly state: JobState; readonly at: string }
  | { readonly type: 'progress'; readonly seq: number; readonly progress: JobProgressDto; readonly at: string }
  | { readonly type: 'log'; readonly seq: number; readonly level: 'info' | 'warn' | 'error'; readonly message: string; readonly at: string }
  | { readonly type: 'result'; readonly seq: number; readonly result: JobResultDto; readonly at: string }
  | { readonly type: 'error'; readonly seq: number; readonly error: ProblemDto; readonly at: string };

/**
 * POST /api/merges. Same recipe schema as the CLI (YAML there, JSON here), with inputs naming
 * adapters by server id instead of by path.
 */
export interface MergeRequestDto {
  readonly method: string;
  readonly inputs: readonly MergeInputDto[];
  /** Method parameters (see GET /api/methods for each method's schema). */
  readonly params?: Record<string, unknown>;
  readonly seed?: number;
  /** Output options, e.g. { dtype: 'float32', name: 'my-merge' }. */
  readonly output?: Record<string, unknown>;
  /** Other recipe keys (include/exclude module patterns, base…) pass through to the recipe parser. */
  readonly [key: string]: unknown;
}

export interface MergeInputDto {
  /** Adapter id on this server. */
  readonly adapter: string;
  readonly weight?: number;
  readonly [key: string]: unknown;
}

/** POST /api/analyses. */
export interface AnalysisRequestDto {
  /** One or more adapter ids. */
  readonly adapters: readonly string[];
  /** Optional base id (GET /api/bases). */
  readonly base?: string;
  readonly seed?: number;
  /** Extra analysis options passed through to src/diagnostics (k, epsilons, sweep, route, modules). */
  readonly options?: Record<string, unknown>;
  /** A succeeded merge job whose inputs are these adapters: adds retention against the merged adapter. */
  readonly merge?: string;
}

/** GET /api/methods. */
export interface MergeMethodDto {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly paperUrl: string | null;
  /** JSON Schema (draft 2020-12 subset) of the method's params. */
  readonly paramsSchema: Record<string, unknown>;
  /** Minimum and maximum number of inputs. */
  readonly minInputs: number;
  readonly maxInputs: number | null;
}

export interface HealthDto {
  readonly status: 'ok' | 'degraded';
  readonly tool: string;
  readonly version: string;
  readonly backend: { readonly name: string; readonly device: string; readonly isGpu: boolean };
  readonly queue: {
    readonly backend: 'sqlite' | 'bullmq';
    readonly queued: number;
    readonly running: number;
  };
  readonly uptimeSeconds: number;
  /** True when the built dashboard is served; false when its build failed. */
  readonly dashboard: boolean;
  readonly authRequired: boolean;
  /** Event-loop delay of the API process since the previous /api/health call (absent in tests). */
  readonly eventLoopDelay?: { readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number; readonly windowSeconds: number };
}

export interface ListDto<T> {
  readonly items: readonly T[];
}

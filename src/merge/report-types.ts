// The merge report (merge-report.json), documented in docs/merge-report-schema.md.

export interface InputRetention {
  readonly input: string;
  readonly index: number;
  readonly weight: number;
  /** ‖ΔW' − w_t ΔW_t‖_F / ‖w_t ΔW_t‖_F (0 = the merge equals this weighted input). */
  readonly relativeError: number;
  /** ⟨ΔW', w_t ΔW_t⟩ / ‖w_t ΔW_t‖² (1 = this input's direction fully kept). */
  readonly projection: number;
}

export interface ModuleReport {
  readonly module: string;
  readonly outFeatures: number;
  readonly inFeatures: number;
  readonly layout: string;
  readonly inputs: readonly string[];
  readonly outputRank: number;
  /** ‖ΔW' − Σ w_t ΔW_t‖_F / ‖Σ w_t ΔW_t‖_F, in factored form. */
  readonly relativeErrorVsExact: number;
  readonly exactNorm: number;
  readonly mergedNorm: number;
  readonly retention: readonly InputRetention[];
  readonly details: Readonly<Record<string, unknown>>;
}

export interface InputSummary {
  readonly index: number;
  readonly name: string;
  readonly path: string;
  readonly format: string;
  readonly baseModel: string | null;
  readonly weight: number;
  readonly sha256: readonly { readonly file: string; readonly sha256: string }[];
  readonly moduleCount: number;
}

export interface ExtraDecision {
  readonly key: string;
  readonly action: 'carried' | 'carried-from-first' | 'dropped';
  readonly from: string | null;
  readonly inputs: readonly string[];
  readonly reason: string;
}

export interface MergeReport {
  readonly schema: 'awb.merge-report/1';
  readonly tool: { readonly name: string; readonly version: string };
  readonly backend: string;
  readonly method: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly seed: number;
  readonly planSha256: string;
  readonly recipe: unknown;
  readonly inputs: readonly InputSummary[];
  readonly output: {
    readonly format: string;
    readonly dtype: string;
    readonly rank: number;
    readonly rankPattern: Readonly<Record<string, number>>;
    readonly moduleCount: number;
    readonly files: readonly string[];
  };
  readonly summary: {
    readonly meanRelativeErrorVsExact: number;
    readonly maxRelativeErrorVsExact: number;
  };
  readonly modules: readonly ModuleReport[];
  readonly extras: readonly ExtraDecision[];
  readonly warnings: readonly string[];
}

export type MergeEvent =
  | { readonly type: 'start'; readonly totalModules: number; readonly inputs: readonly string[]; readonly method: string }
  | { readonly type: 'module'; readonly index: number; readonly total: number; readonly module: string; readonly phase: 'load' | 'merge' | 'done' }
  | { readonly type: 'write'; readonly path: string }
  | { readonly type: 'warning'; readonly message: string }
  | { readonly type: 'done'; readonly outDir: string; readonly report: MergeReport };

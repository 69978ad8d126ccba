// The contract between the executor and a merge method: one module at a time,
// factors already loaded in canonical m×n orientation.
import type { Mat } from '../tensor/matrix.ts';
import type { ParamSchema, ParamValues } from './param-schema.ts';

export interface ModuleInput {
  /** Position in the recipe's input list. */
  readonly index: number;
  readonly name: string;
  /** sha256 of this module's factor bytes and scale: the canonical order key for seeded steps. */
  readonly contentHash: string;
  readonly weight: number;
  readonly scale: number;
  readonly rank: number;
  /** m×r */
  readonly B: Mat;
  /** r×n */
  readonly A: Mat;
}

export interface ModuleContext {
  readonly module: string;
  readonly outFeatures: number;
  readonly inFeatures: number;
  /** Inputs that have this module (in union mode, absent inputs are zero deltas and not listed). */
  readonly inputs: readonly ModuleInput[];
  /** Number of inputs in the recipe, including those without this module. */
  readonly inputCount: number;
  readonly params: ParamValues;
  /** Seed for this module, derived from the plan seed and the module name. */
  readonly seed: number;
}

export interface ModuleResult {
  /** m×k, the output scale is 1 (lora_alpha = r). */
  readonly B: Mat;
  /** k×n */
  readonly A: Mat;
  /** Method-specific figures for the report (cluster sizes, bias, discarded energy…). */
  readonly details?: Readonly<Record<string, unknown>>;
  readonly warnings?: readonly string[];
  /**
   * Set when the output lies in the inputs' span: B = B_cat·P and A = Q·A_cat, with B_cat = [B_1 … B_T]
   * and A_cat = [A_1; …; A_T] the raw factors in `ctx.inputs` order (kernels/input-span.ts). The report
   * then measures everything in c-space instead of a joint Gram of output and inputs.
   */
  readonly coefficients?: SpanCoefficients;
}

export interface SpanCoefficients {
  /** c×k, row-major. */
  readonly P: Float64Array;
  /** k×c, row-major. */
  readonly Q: Float64Array;
  readonly k: number;
}

export interface MergeMethodDescriptor {
  readonly name: string;
  readonly title: string;
  readonly summary: string;
  readonly paperUrl: string | null;
  /** The result is a function of the weighted ΔW_t only (not of factor gauges). */
  readonly actsOnDelta: boolean;
  /** Reordering the inputs cannot change the result. */
  readonly orderFree: boolean;
  /** Weights are normalised to sum 1 (federated methods); the report's exact target uses them. */
  readonly normalizesWeights?: boolean;
  readonly params: ParamSchema;
  /** Parameters each input may set (weight). */
  readonly perAdapter: ParamSchema;
  run(ctx: ModuleContext): Promise<ModuleResult>;
}

export const PER_ADAPTER_WEIGHT: ParamSchema = {
  weight: { type: 'number', default: 1, description: 'multiplies this input’s delta (negative subtracts it)' },
};

// The typed registry of merge methods. Rows are data: name, title, paper, a
// JSON-able parameter schema with defaults, per-input parameters, and the kernel.
import { WorkbenchError } from '../errors.ts';
import type { MergeMethodDescriptor } from './method-types.ts';
import type { ParamSchema } from './param-schema.ts';
import { catMethod, linearMethod, svdMethod } from './methods/exact.ts';
import { linearPeftFactorwiseMethod } from './methods/factorwise.ts';
import { TASK_ARITHMETIC_ROWS } from './methods/task-arithmetic-family.ts';
import { legoMethod } from './methods/lego.ts';
import { fairRidgeMethod, fedavgMethod, ffaMethod } from './methods/federated.ts';

const [ties, dareLinear, dareTies, magnitudePrune] = TASK_ARITHMETIC_ROWS;

export const MERGE_METHODS = {
  cat: catMethod,
  linear: linearMethod,
  linear_peft_factorwise: linearPeftFactorwiseMethod,
  svd: svdMethod,
  ties,
  dare_linear: dareLinear,
  dare_ties: dareTies,
  magnitude_prune: magnitudePrune,
  lego: legoMethod,
  fedavg: fedavgMethod,
  ffa: ffaMethod,
  fair_ridge: fairRidgeMethod,
} satisfies Record<string, MergeMethodDescriptor>;

export type MergeMethodName = keyof typeof MERGE_METHODS;

const registry = new Map<string, MergeMethodDescriptor>(Object.entries(MERGE_METHODS));
for (const [key, d] of registry) {
  if (d.name !== key) throw new WorkbenchError('INTERNAL', `merge method row "${key}" is named "${d.name}"`);
}

/** Adds a method (plugins, tests). Refuses a name that is already taken. */
export function registerMergeMethod(descriptor: MergeMethodDescriptor): void {
  if (registry.has(descriptor.name)) {
    throw new WorkbenchError('REGISTRY_DUPLICATE', `a merge method named "${descriptor.name}" is already registered`, {
      details: { name: descriptor.name },
    });
  }
  registry.set(descriptor.name, descriptor);
}

export function getMergeMethod(name: string): MergeMethodDescriptor {
  const d = registry.get(name);
  if (!d) {
    throw new WorkbenchError('MERGE_METHOD_UNKNOWN', `unknown merge method "${name}" (known: ${[...registry.keys()].join(', ')})`, {
      details: { method: name, known: [...registry.keys()] },
    });
  }
  return d;
}

export function listMergeMethods(): readonly MergeMethodDescriptor[] {
  return [...registry.values()];
}

/** What the dashboard needs to render a method picker and its form: plain JSON, no functions. */
export interface MergeMethodInfo {
  readonly name: string;
  readonly title: string;
  readonly summary: string;
  readonly paperUrl: string | null;
  readonly actsOnDelta: boolean;
  readonly orderFree: boolean;
  readonly params: ParamSchema;
  readonly perAdapter: ParamSchema;
}

export function describeMergeMethods(): MergeMethodInfo[] {
  return listMergeMethods().map((d) => ({
    name: d.name,
    title: d.title,
    summary: d.summary,
    paperUrl: d.paperUrl,
    actsOnDelta: d.actsOnDelta,
    orderFree: d.orderFree,
    params: d.params,
    perAdapter: d.perAdapter,
  }));
}

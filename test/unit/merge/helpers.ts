// Small in-memory adapters for merge tests, plus product helpers.
import type { Adapter, LoraModule } from '../../../src/adapter/types.ts';
import { fromRows, matmul, toRows, zeros, type Mat } from '../../../src/tensor/matrix.ts';
import { createRng } from '../../../src/util/rng.ts';
import { sha256Bytes } from '../../../src/util/hash.ts';
import type { ModuleContext, ModuleInput, ModuleResult } from '../../../src/merge/method-types.ts';
import type { ParamValues } from '../../../src/merge/param-schema.ts';
import { resolveParams } from '../../../src/merge/param-schema.ts';
import { getMergeMethod } from '../../../src/merge/registry.ts';

export interface TestModule {
  readonly name: string;
  readonly B: Mat;
  readonly A: Mat;
  readonly scale?: number;
}

export function memoryAdapter(name: string, modules: readonly TestModule[], options: { baseModel?: string; extras?: Adapter['extras'] } = {}): Adapter {
  const loraModules: LoraModule[] = [...modules]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((m) => ({
      name: m.name,
      outFeatures: m.B.rows,
      inFeatures: m.A.cols,
      rank: m.A.rows,
      alpha: (m.scale ?? 1) * m.A.rows,
      scale: m.scale ?? 1,
      layout: { kind: 'linear' } as const,
      dtype: 'F32' as const,
      hasDora: false,
      keys: { A: `${m.name}.lora_A.weight`, B: `${m.name}.lora_B.weight` },
      load: async () => ({ A: { ...m.A, data: Float64Array.from(m.A.data) }, B: { ...m.B, data: Float64Array.from(m.B.data) } }),
    }));
  const digest = sha256Bytes(JSON.stringify(modules.map((m) => [m.name, Array.from(m.A.data), Array.from(m.B.data), m.scale ?? 1])));
  return {
    format: 'memory',
    name,
    files: [{ name: `${name}.memory`, path: `memory:${name}`, sizeBytes: 0, sha256: digest }],
    baseModel: options.baseModel,
    config: undefined,
    modules: loraModules,
    extras: options.extras ?? [],
    dtype: 'F32',
    warnings: [],
    close: async () => undefined,
  };
}

export function randomMat(rows: number, cols: number, seed: number, scale = 1): Mat {
  const rng = createRng(seed);
  const m = zeros(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.normal() * scale;
  return m;
}

export function product(B: Mat, A: Mat, coef = 1): number[][] {
  return toRows(matmul(B, A)).map((row) => row.map((v) => v * coef));
}

export function expectClose(actual: readonly (readonly number[])[], expected: readonly (readonly number[])[], tol: number): void {
  if (actual.length !== expected.length) throw new Error(`rows ${actual.length} ≠ ${expected.length}`);
  actual.forEach((row, i) => {
    const e = expected[i]!;
    if (row.length !== e.length) throw new Error(`row ${i}: cols ${row.length} ≠ ${e.length}`);
    row.forEach((v, j) => {
      if (!(Math.abs(v - e[j]!) <= tol)) throw new Error(`entry [${i},${j}] = ${v}, expected ${e[j]} ± ${tol}`);
    });
  });
}

export function maxAbsDiff(a: readonly (readonly number[])[], b: readonly (readonly number[])[]): number {
  let d = 0;
  a.forEach((row, i) => row.forEach((v, j) => (d = Math.max(d, Math.abs(v - b[i]![j]!)))));
  return d;
}

let hashCounter = 0;
export function moduleInput(index: number, B: Mat, A: Mat, options: { weight?: number; scale?: number; name?: string } = {}): ModuleInput {
  return {
    index,
    name: options.name ?? `in${index}`,
    contentHash: sha256Bytes(`${Array.from(A.data).join(',')}|${Array.from(B.data).join(',')}|${options.scale ?? 1}|${hashCounter++ * 0}`),
    weight: options.weight ?? 1,
    scale: options.scale ?? 1,
    rank: A.rows,
    B,
    A,
  };
}

/** Runs one registry method on one module with its params resolved; the method's whole result. */
export async function runMethodResult(method: string, inputs: readonly ModuleInput[], params: Record<string, unknown> = {}, seed = 42): Promise<ModuleResult> {
  const d = getMergeMethod(method);
  const resolved: ParamValues = resolveParams(method, d.params, params);
  const ctx: ModuleContext = {
    module: 'test.module',
    outFeatures: inputs[0]!.B.rows,
    inFeatures: inputs[0]!.A.cols,
    inputs,
    inputCount: inputs.length,
    params: resolved,
    seed,
  };
  return d.run(ctx);
}

/** Runs one registry method on one module with its params resolved. */
export async function runMethod(method: string, inputs: readonly ModuleInput[], params: Record<string, unknown> = {}, seed = 42): Promise<{ B: Mat; A: Mat; details: Record<string, unknown> }> {
  const r = await runMethodResult(method, inputs, params, seed);
  return { B: r.B, A: r.A, details: { ...(r.details ?? {}) } };
}

export { fromRows };

// A small, JSON-able parameter schema: the dashboard renders it as a form, the
// recipe validator turns it into zod. One spec per parameter, defaults included.
import { z } from 'zod';
import { WorkbenchError } from '../errors.ts';

export type ParamSpec =
  | {
      readonly type: 'number';
      readonly default: number | null;
      readonly min?: number;
      readonly max?: number;
      readonly integer?: boolean;
      /** true: null is allowed and means "unset" (e.g. rank = max input rank). */
      readonly nullable?: boolean;
      readonly description: string;
    }
  | { readonly type: 'enum'; readonly values: readonly string[]; readonly default: string; readonly description: string }
  | { readonly type: 'boolean'; readonly default: boolean; readonly description: string };

export type ParamSchema = Readonly<Record<string, ParamSpec>>;
export type ParamValues = Readonly<Record<string, number | string | boolean | null>>;

function specToZod(spec: ParamSpec): z.ZodType {
  switch (spec.type) {
    case 'number': {
      let n = z.number().refine(Number.isFinite, 'must be finite');
      let base: z.ZodType = spec.integer ? z.number().int() : z.number();
      if (spec.min !== undefined) base = (base as z.ZodNumber).min(spec.min);
      if (spec.max !== undefined) base = (base as z.ZodNumber).max(spec.max);
      n = base as typeof n;
      return spec.nullable ? n.nullable() : n;
    }
    case 'enum':
      return z.enum(spec.values as [string, ...string[]]);
    case 'boolean':
      return z.boolean();
  }
}

/** A strict zod object for a schema: unknown keys are refused, every key optional. */
export function schemaToZod(schema: ParamSchema): z.ZodType<Record<string, unknown>> {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, spec] of Object.entries(schema)) shape[key] = specToZod(spec).optional();
  return z.strictObject(shape) as unknown as z.ZodType<Record<string, unknown>>;
}

/** Validates user params against a schema and fills in the defaults (resolved once, here). */
export function resolveParams(method: string, schema: ParamSchema, given: Readonly<Record<string, unknown>> | undefined): ParamValues {
  const parsed = schemaToZod(schema).safeParse(given ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    const known = Object.keys(schema).join(', ') || '(none)';
    throw new WorkbenchError(
      'MERGE_PARAM_INVALID',
      `method "${method}": parameter ${path ? `"${path}"` : ''} ${issue?.message ?? 'is invalid'} (known parameters: ${known})`,
      { details: { method, path, issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) } },
    );
  }
  const out: Record<string, number | string | boolean | null> = {};
  for (const [key, spec] of Object.entries(schema)) {
    const v = parsed.data[key];
    out[key] = (v === undefined ? spec.default : v) as number | string | boolean | null;
  }
  return out;
}

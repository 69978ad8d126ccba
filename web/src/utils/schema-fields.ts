// The merge builder's parameter form is generated from each method's schema (GET /api/methods).
// Two dialects are accepted: the library's ParamSchema ({key: {type, default, min, max, …}}, see
// src/merge/param-schema.ts) and the JSON Schema subset {type: 'object', properties, required}.
import type { ParamSpec } from '../../../src/merge/param-schema.ts';

export type FieldKind = 'number' | 'integer' | 'enum' | 'boolean' | 'string';
export type FieldValue = number | string | boolean | null;

export interface FieldSpec {
  readonly key: string;
  readonly label: string;
  readonly kind: FieldKind;
  readonly default: FieldValue;
  /** null allowed, meaning "unset" (the method picks, e.g. rank = largest input rank). */
  readonly nullable: boolean;
  readonly min?: number;
  readonly max?: number;
  readonly step?: number;
  readonly values?: readonly string[];
  readonly description: string;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** "outputRank" / "output_rank" → "Output rank". */
export function humanLabel(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .trim()
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function fromParamSpec(key: string, spec: ParamSpec): FieldSpec {
  const base = { key, label: humanLabel(key), description: spec.description ?? '' };
  switch (spec.type) {
    case 'number':
      return {
        ...base,
        kind: spec.integer ? 'integer' : 'number',
        default: spec.default,
        nullable: spec.nullable ?? false,
        ...(spec.min === undefined ? {} : { min: spec.min }),
        ...(spec.max === undefined ? {} : { max: spec.max }),
        step: spec.integer ? 1 : stepFor(spec.min, spec.max),
      };
    case 'enum':
      return { ...base, kind: 'enum', default: spec.default, nullable: false, values: spec.values };
    case 'boolean':
      return { ...base, kind: 'boolean', default: spec.default, nullable: false };
  }
}

function stepFor(min: number | undefined, max: number | undefined): number {
  if (min !== undefined && max !== undefined && max - min <= 1) return 0.01;
  return 0.1;
}

function fromJsonSchema(key: string, prop: Json): FieldSpec {
  const types = Array.isArray(prop['type']) ? (prop['type'] as unknown[]) : [prop['type']];
  const nullable = types.includes('null');
  const enumValues = Array.isArray(prop['enum'])
    ? (prop['enum'] as unknown[]).filter((v): v is string => typeof v === 'string')
    : Array.isArray(prop['oneOf'])
      ? (prop['oneOf'] as unknown[]).map((o) => (isObject(o) ? o['const'] : undefined)).filter((v): v is string => typeof v === 'string')
      : [];
  const label = typeof prop['title'] === 'string' ? prop['title'] : humanLabel(key);
  const description = typeof prop['description'] === 'string' ? prop['description'] : '';
  const dflt = (prop['default'] ?? null) as FieldValue;
  if (enumValues.length > 0) {
    return { key, label, description, kind: 'enum', values: enumValues, default: dflt ?? enumValues[0] ?? null, nullable };
  }
  const num = (name: string): number | undefined => (typeof prop[name] === 'number' ? (prop[name] as number) : undefined);
  if (types.includes('integer') || types.includes('number')) {
    const integer = types.includes('integer');
    const min = num('minimum') ?? num('exclusiveMinimum');
    const max = num('maximum') ?? num('exclusiveMaximum');
    return {
      key,
      label,
      description,
      kind: integer ? 'integer' : 'number',
      default: dflt,
      nullable,
      ...(min === undefined ? {} : { min }),
      ...(max === undefined ? {} : { max }),
      step: num('multipleOf') ?? (integer ? 1 : stepFor(min, max)),
    };
  }
  if (types.includes('boolean')) return { key, label, description, kind: 'boolean', default: dflt ?? false, nullable };
  return { key, label, description, kind: 'string', default: dflt ?? '', nullable };
}

/** Field specs in schema order. Unknown shapes yield no field rather than a broken one. */
export function schemaFields(schema: Readonly<Record<string, unknown>> | null | undefined): FieldSpec[] {
  if (!isObject(schema)) return [];
  if (isObject(schema['properties'])) {
    return Object.entries(schema['properties']).filter(([, p]) => isObject(p)).map(([k, p]) => fromJsonSchema(k, p as Json));
  }
  const out: FieldSpec[] = [];
  for (const [key, spec] of Object.entries(schema)) {
    if (!isObject(spec) || typeof spec['type'] !== 'string') continue;
    if (spec['type'] === 'number' || spec['type'] === 'enum' || spec['type'] === 'boolean') {
      out.push(fromParamSpec(key, spec as unknown as ParamSpec));
    }
  }
  return out;
}

/** The defaults of every field, as the form's initial values. */
export function defaultValues(fields: readonly FieldSpec[]): Record<string, FieldValue> {
  return Object.fromEntries(fields.map((f) => [f.key, f.default]));
}

/** Why a value is not acceptable for its field, or null when it is. */
export function validateField(field: FieldSpec, value: FieldValue): string | null {
  if (value === null || value === '') {
    if (field.nullable) return null;
    return field.kind === 'string' ? null : 'required';
  }
  switch (field.kind) {
    case 'number':
    case 'integer': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return 'must be a number';
      if (field.kind === 'integer' && !Number.isInteger(value)) return 'must be a whole number';
      if (field.min !== undefined && value < field.min) return `must be ≥ ${field.min}`;
      if (field.max !== undefined && value > field.max) return `must be ≤ ${field.max}`;
      return null;
    }
    case 'enum':
      return field.values?.includes(String(value)) ? null : `must be one of ${field.values?.join(', ')}`;
    case 'boolean':
      return typeof value === 'boolean' ? null : 'must be true or false';
    case 'string':
      return typeof value === 'string' ? null : 'must be text';
  }
}

/** Only the values that differ from their defaults (keeps recipes short and explicit). */
export function changedValues(fields: readonly FieldSpec[], values: Readonly<Record<string, FieldValue>>): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {};
  for (const f of fields) {
    const v = values[f.key];
    if (v !== undefined && v !== f.default) out[f.key] = v;
  }
  return out;
}

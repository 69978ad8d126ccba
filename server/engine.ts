// The one place where the server calls into the library (src/). Modules that
// other areas are still writing are imported lazily by path, so the server
// builds and serves before they land; a missing module answers
// ENGINE_UNAVAILABLE instead of failing at start-up.
import { readHeaderLength, parseHeader, N_LEN } from '../src/safetensors/header.ts';
import type { SafetensorsHeader } from '../src/safetensors/header.ts';
import type { Adapter } from '../src/adapter/types.ts';
import { HttpError } from './errors.ts';
import type { HealthDto, MergeMethodDto } from './dto.ts';
import { TOOL_VERSION } from '../src/version.ts';

/** Imports the first of the candidate modules that exists; undefined when none does. */
async function importFirst(candidates: readonly string[]): Promise<Record<string, unknown> | undefined> {
  for (const path of candidates) {
    try {
      return (await import(path)) as Record<string, unknown>;
    } catch (error) {
      const code = (error as { code?: string }).code;
      const message = String((error as Error).message);
      const fileName = path.split('/').pop() ?? path;
      if (code === 'ERR_MODULE_NOT_FOUND' && message.includes(fileName)) continue;
      throw error;
    }
  }
  return undefined;
}

async function need<T>(what: string, candidates: readonly string[], name: string): Promise<T> {
  const mod = await importFirst(candidates);
  const fn = mod?.[name];
  if (fn === undefined) {
    throw new HttpError('ENGINE_UNAVAILABLE', `${what} is not available in this build (${name} not found)`, { module: candidates[0], export: name });
  }
  return fn as T;
}

// ---- safetensors header checks while an upload streams -------------------------------------

/** How many leading bytes the early header check needs, or undefined when the prefix is still short. */
export function headerBytesNeeded(prefix: Uint8Array, file: string): number {
  // fileSize is unknown while streaming: pass the largest safe size so only the length itself is judged.
  return N_LEN + readHeaderLength(prefix, Number.MAX_SAFE_INTEGER, file);
}

/** Validates the header of a complete file (all of §1.2 that needs only header + size). */
export function validateSafetensorsHeader(prefix: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  const n = readHeaderLength(prefix, fileSize, file);
  return parseHeader(prefix.subarray(N_LEN, N_LEN + n), fileSize, file);
}

// ---- adapters ---------------------------------------------------------------------------

type LoadAdapterFromFiles = (files: readonly { name: string; path: string }[], options: { name?: string }, where?: string) => Promise<Adapter>;
type LoadAdapter = (path: string, options?: { name?: string }) => Promise<Adapter>;
type InspectAdapter = (adapter: Adapter) => Promise<unknown> | unknown;

/** Loads an adapter from a folder or file (the library's loader checks every factor). */
export async function loadAdapter(path: string, options: { name?: string } = {}): Promise<Adapter> {
  const fn = await need<LoadAdapter>('the adapter loader', ['../src/adapter/load-adapter.ts'], 'loadAdapter');
  return fn(path, options);
}

/** Loads an adapter from named files (upload staging): names decide the format, paths are server-chosen. */
export async function loadAdapterFiles(files: readonly { name: string; path: string }[], options: { name?: string } = {}): Promise<Adapter> {
  const fn = await need<LoadAdapterFromFiles>('the adapter loader', ['../src/adapter/load-adapter.ts'], 'loadAdapterFromFiles');
  return fn(files, options, options.name ?? 'upload');
}

/** The `awb inspect --json` object, or null when the inspector has not landed. */
export async function inspectAdapter(adapter: Adapter): Promise<Record<string, unknown> | null> {
  const mod = await importFirst(['../src/adapter/inspect-adapter.ts', '../src/adapter/inspect.ts', '../src/adapter/index.ts']);
  const fn = mod?.inspectAdapter as InspectAdapter | undefined;
  if (!fn) return null;
  const out = await fn(adapter);
  return out !== null && typeof out === 'object' ? (JSON.parse(JSON.stringify(out)) as Record<string, unknown>) : null;
}

// ---- compute backend ---------------------------------------------------------------------

let backendCache: Promise<HealthDto['backend']> | undefined;

/** The compute backend this process uses (selected once, then cached). */
export function describeBackend(): Promise<HealthDto['backend']> {
  backendCache ??= (async () => {
    const mod = await importFirst(['../src/compute/default-backend.ts']);
    const fn = mod?.defaultBackend as (() => Promise<{ description: { name: string; device: string; isGpu: boolean } }>) | undefined;
    if (fn) {
      try {
        const d = (await fn()).description;
        return { name: d.name, device: d.device, isGpu: d.isGpu };
      } catch {
        // fall through to the TypeScript oracle
      }
    }
    return { name: 'ts', device: 'CPU (TypeScript f64)', isGpu: false };
  })();
  return backendCache;
}

// ---- merge methods ---------------------------------------------------------------------

interface MethodLike {
  name: string;
  title?: string;
  summary?: string;
  description?: string;
  paperUrl?: string | null;
  params?: Record<string, unknown>;
  perAdapter?: Record<string, unknown>;
  minInputs?: number;
  maxInputs?: number | null;
}

/** Converts the library's ParamSchema (type/default/min/max/…) into a JSON Schema for the form. */
function paramsToJsonSchema(params: Record<string, unknown> | undefined, perAdapter: Record<string, unknown> | undefined): Record<string, unknown> {
  const toProp = (spec: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = { description: spec.description ?? '' };
    if (spec.type === 'number') {
      out.type = spec.nullable ? [spec.integer ? 'integer' : 'number', 'null'] : spec.integer ? 'integer' : 'number';
      if (spec.min !== undefined) out.minimum = spec.min;
      if (spec.max !== undefined) out.maximum = spec.max;
    } else if (spec.type === 'enum') {
      out.type = 'string';
      out.enum = spec.values;
    } else if (spec.type === 'boolean') {
      out.type = 'boolean';
    }
    if (spec.default !== undefined) out.default = spec.default;
    return out;
  };
  const props: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params ?? {})) props[k] = toProp(v as Record<string, unknown>);
  const perProps: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(perAdapter ?? {})) perProps[k] = toProp(v as Record<string, unknown>);
  return {
    type: 'object',
    additionalProperties: false,
    properties: props,
    'x-per-input': { type: 'object', additionalProperties: false, properties: perProps },
  };
}

export async function listMethods(): Promise<MergeMethodDto[]> {
  const mod = await importFirst(['../src/merge/registry.ts', '../src/merge/index.ts']);
  const describe = mod?.describeMergeMethods as (() => MethodLike[]) | undefined;
  const registry = describe ? describe() : (mod?.MERGE_METHODS as Record<string, MethodLike> | ReadonlyMap<string, MethodLike> | readonly MethodLike[] | undefined);
  if (!registry) {
    throw new HttpError('ENGINE_UNAVAILABLE', 'the merge method registry is not available in this build', { module: 'src/merge/registry.ts' });
  }
  const entries: MethodLike[] =
    registry instanceof Map ? [...registry.values()] : Array.isArray(registry) ? [...registry] : Object.values(registry as Record<string, MethodLike>);
  return entries
    .map((m) => ({
      name: m.name,
      title: m.title ?? m.name,
      description: m.description ?? m.summary ?? '',
      paperUrl: m.paperUrl ?? null,
      paramsSchema: paramsToJsonSchema(m.params, m.perAdapter),
      minInputs: m.minInputs ?? 1,
      maxInputs: m.maxInputs ?? null,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export const ENGINE_VERSION = TOOL_VERSION;


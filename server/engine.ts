// The one place where the API process calls into the library (src/) for
// adapters, headers, backends and the method registry. Job execution calls
// the library from server/jobs/execute-job.ts, in a worker thread.
import { readHeaderLength, parseHeader, N_LEN } from '../src/safetensors/header.ts';
import type { SafetensorsHeader } from '../src/safetensors/header.ts';
import type { Adapter } from '../src/adapter/types.ts';
import type { HealthDto, MergeMethodDto } from './dto.ts';
import { loadAdapter as libLoadAdapter, loadAdapterFromFiles } from '../src/adapter/load-adapter.ts';
import { inspectAdapter as libInspectAdapter } from '../src/adapter/inspect-adapter.ts';
import { defaultBackend } from '../src/compute/default-backend.ts';
import { describeMergeMethods } from '../src/merge/registry.ts';

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

/** Loads an adapter from a folder or file (the library's loader checks every factor). */
export function loadAdapter(path: string, options: { name?: string } = {}): Promise<Adapter> {
  return libLoadAdapter(path, options);
}

/** Loads an adapter from named files (upload staging): names decide the format, paths are server-chosen. */
export function loadAdapterFiles(files: readonly { name: string; path: string }[], options: { name?: string } = {}): Promise<Adapter> {
  return loadAdapterFromFiles(files, options, options.name ?? 'upload');
}

/** The `awb inspect --json` object (plain JSON). */
export async function inspectAdapter(adapter: Adapter, signal?: AbortSignal): Promise<Record<string, unknown>> {
  const report = await libInspectAdapter(adapter, signal ? { signal } : {});
  return JSON.parse(JSON.stringify(report)) as Record<string, unknown>;
}

// ---- compute backend ---------------------------------------------------------------------

let backendCache: Promise<HealthDto['backend']> | undefined;

/** The compute backend this process uses (selected once, then cached). */
export function describeBackend(): Promise<HealthDto['backend']> {
  backendCache ??= defaultBackend().then(
    ({ description: d }) => ({ name: d.name, device: d.device, isGpu: d.isGpu }),
    () => ({ name: 'ts', device: 'CPU (TypeScript f64)', isGpu: false }),
  );
  return backendCache;
}

// ---- merge methods ---------------------------------------------------------------------

type ParamSpecLike = Record<string, unknown>;

/** Converts the library's ParamSchema (type/default/min/max/…) into a JSON Schema for the form. */
function paramsToJsonSchema(params: Readonly<Record<string, unknown>>, perAdapter: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const toProp = (spec: ParamSpecLike): Record<string, unknown> => {
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
  for (const [k, v] of Object.entries(params)) props[k] = toProp(v as ParamSpecLike);
  const perProps: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(perAdapter)) perProps[k] = toProp(v as ParamSpecLike);
  return {
    type: 'object',
    additionalProperties: false,
    properties: props,
    'x-per-input': { type: 'object', additionalProperties: false, properties: perProps },
  };
}

/** The merge method registry as the dashboard's form needs it. */
export function listMethods(): MergeMethodDto[] {
  return describeMergeMethods()
    .map((m) => ({
      name: m.name,
      title: m.title,
      description: m.summary,
      paperUrl: m.paperUrl,
      paramsSchema: paramsToJsonSchema(m.params, m.perAdapter),
      minInputs: 1,
      maxInputs: null,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

// Start-up backend selection: --backend NAME beats AWB_BACKEND beats the
// automatic order tensorflow (tfjs-node-gpu, then tfjs-node) → webgpu → wasm → ts.
// `cpu` (tfjs reference kernels) is only ever chosen by name.
import { WorkbenchError } from '../errors.ts';
import { BACKEND_NAMES, isBackendName } from './backend.ts';
import type { Backend, BackendName } from './backend.ts';
import { BACKEND_CANDIDATES, probeCandidate } from './probe-backends.ts';
import type { CandidateId } from './probe-backends.ts';

export interface SelectBackendOptions {
  /** From --backend; `auto` or undefined means automatic. Wins over the environment. */
  readonly backend?: string;
  /** AWB_BACKEND is read from here (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Probe every candidate, not only until one is found (awb doctor). */
  readonly probeAll?: boolean;
}

export interface BackendCandidate {
  readonly id: CandidateId;
  readonly name: BackendName;
  readonly packages: string;
  /** true / false once probed; null when it was not probed. */
  readonly available: boolean | null;
  readonly chosen: boolean;
  /** Why it was chosen, or not. */
  readonly reason: string;
  readonly device?: string;
  readonly isGpu?: boolean;
  readonly version?: string;
}

export interface BackendSelection {
  readonly backend: Backend;
  /** What was asked for: a backend name, or `auto`. */
  readonly requested: BackendName | 'auto';
  /** Where the request came from. */
  readonly requestedBy: 'option' | 'AWB_BACKEND' | 'default';
  readonly candidates: readonly BackendCandidate[];
}

function resolveRequest(options: SelectBackendOptions): { requested: BackendName | 'auto'; requestedBy: BackendSelection['requestedBy'] } {
  const env = options.env ?? process.env;
  const fromOption = options.backend?.trim();
  const fromEnv = env.AWB_BACKEND?.trim();
  const [raw, requestedBy] =
    fromOption !== undefined && fromOption !== '' ? [fromOption, 'option' as const] : fromEnv ? [fromEnv, 'AWB_BACKEND' as const] : ['auto', 'default' as const];
  const value = raw.toLowerCase();
  if (value === 'auto') {
    return { requested: 'auto', requestedBy };
  }
  if (!isBackendName(value)) {
    const source = requestedBy === 'option' ? '--backend' : 'AWB_BACKEND';
    throw new WorkbenchError('BACKEND_UNKNOWN', `${source} names no compute backend: "${raw}" (choose one of auto, ${BACKEND_NAMES.join(', ')})`, {
      details: { requested: raw, source, known: ['auto', ...BACKEND_NAMES] },
    });
  }
  return { requested: value, requestedBy };
}

/** Picks the compute backend and says why each candidate was or was not chosen. */
export async function selectBackend(options: SelectBackendOptions = {}): Promise<BackendSelection> {
  const { requested, requestedBy } = resolveRequest(options);
  const candidates: BackendCandidate[] = [];
  let chosen: Backend | undefined;
  for (const spec of BACKEND_CANDIDATES) {
    const wanted = requested === 'auto' ? spec.automatic : spec.backend === requested;
    const base = { id: spec.id, name: spec.backend, packages: spec.packages };
    if (!options.probeAll && (chosen !== undefined || !wanted)) {
      const reason = !wanted
        ? requested === 'auto'
          ? `not chosen automatically: ${spec.note}`
          : `not requested (${requested} was asked for)`
        : 'not probed: an earlier candidate was chosen';
      candidates.push({ ...base, available: null, chosen: false, reason });
      continue;
    }
    const provider = candidates.find((c) => c.name === spec.backend && c.available === true);
    if (provider !== undefined) {
      // Loading tfjs-node beside tfjs-node-gpu would register a second native "tensorflow" backend.
      candidates.push({ ...base, available: null, chosen: false, reason: `not probed: ${provider.packages} already provides the ${spec.backend} backend` });
      continue;
    }
    const result = await probeCandidate(spec);
    if (!result.ok) {
      candidates.push({ ...base, available: false, chosen: false, reason: result.reason });
      continue;
    }
    const { device, isGpu, version } = result.backend.description;
    const details = { ...base, available: true, device, isGpu, version };
    if (chosen === undefined && wanted) {
      chosen = result.backend;
      const why = requested === 'auto' ? `first available in the automatic order: ${spec.note}` : `requested by ${requestedBy === 'option' ? '--backend' : 'AWB_BACKEND'}`;
      candidates.push({ ...details, chosen: true, reason: why });
    } else {
      const reason = !wanted
        ? requested === 'auto'
          ? `available, not chosen automatically: ${spec.note}`
          : `available, not requested (${requested} was asked for)`
        : `available; ${chosen?.name ?? 'another backend'} was preferred`;
      candidates.push({ ...details, chosen: false, reason });
    }
  }
  if (chosen === undefined) {
    const reasons = candidates.filter((c) => c.name === requested).map((c) => `${c.id}: ${c.reason}`);
    throw new WorkbenchError('BACKEND_UNAVAILABLE', `compute backend "${requested}" cannot be loaded here (${reasons.join('; ')})`, {
      details: { requested, requestedBy, candidates },
    });
  }
  return { backend: chosen, requested, requestedBy, candidates };
}

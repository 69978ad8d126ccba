// The "computed on …" line every output carries.
import type { Backend, BackendDescription } from './backend.ts';

export function describeBackend(backend: Backend): BackendDescription {
  return { ...backend.description };
}

/** One line for reports and CLI output, e.g. "wasm — CPU (WebAssembly SIMD, 1 thread), tfjs-backend-wasm@4.22.0". */
export function formatBackendLine(backend: Backend): string {
  const d = backend.description;
  return `${d.name} — ${d.device}, ${d.version}`;
}

// The candidate registry: which backends the library can run on, in the order
// it prefers them, and how each is detected. Variants are data: a new tier is
// a row here. Probing is cached per thread because tfjs backends are global.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_PROBE_TIMEOUT_MS } from '../limits.ts';
import type { Backend, BackendName } from './backend.ts';
import { createTfjsBackend } from './tfjs-backend.ts';
import { createTsBackend } from './ts-backend.ts';

export type ProbeResult = { readonly ok: true; readonly backend: Backend } | { readonly ok: false; readonly reason: string };

export interface CandidateSpec {
  /** Unique id; `tensorflow-gpu` and `tensorflow-cpu` both provide the `tensorflow` backend. */
  readonly id: string;
  readonly backend: BackendName;
  /** npm package(s) that provide it. */
  readonly packages: string;
  /** Whether automatic selection may pick it (false: only by --backend / AWB_BACKEND). */
  readonly automatic: boolean;
  /** Why it is (or is not) picked automatically, shown by `awb doctor`. */
  readonly note: string;
  readonly probe: () => Promise<ProbeResult>;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]?.slice(0, 300) ?? '';
}

function isNotInstalled(error: unknown, specifier: string): boolean {
  const code = (error as { code?: string } | null)?.code;
  const message = error instanceof Error ? error.message : '';
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /Cannot find (module|package)|Failed to load url/.test(message)) && message.includes(specifier);
}

async function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${BACKEND_PROBE_TIMEOUT_MS} ms`)), BACKEND_PROBE_TIMEOUT_MS);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Imports a package whose name TypeScript must not resolve (it may be absent). */
async function importOptional(specifier: string): Promise<Record<string, unknown>> {
  return (await import(/* @vite-ignore */ specifier)) as Record<string, unknown>;
}

async function initTfjs(tfjsName: string): Promise<boolean> {
  return withTimeout(tf.setBackend(tfjsName), `tfjs backend "${tfjsName}" initialisation`);
}

/**
 * Imports @tensorflow/tfjs-backend-<name> and makes it the tfjs backend: its version (the core's when the
 * package does not say), or why it failed. `context` starts the reason; `initHint` ends the "failed to
 * initialise" one.
 */
async function loadTfjsBackendPackage(
  tfjsName: 'webgpu' | 'wasm' | 'cpu',
  context = '',
  initHint = '',
): Promise<{ ok: true; version: string } | { ok: false; reason: string }> {
  const pkg = `tfjs-backend-${tfjsName}`;
  try {
    const mod = await importOptional(`@tensorflow/${pkg}`);
    const declared = mod[`version_${tfjsName}`];
    const version = typeof declared === 'string' ? declared : tf.version_core;
    if (!(await initTfjs(tfjsName))) {
      return { ok: false, reason: `${context}${pkg} failed to initialise${initHint}` };
    }
    return { ok: true, version };
  } catch (error) {
    return { ok: false, reason: `${context}${pkg} failed: ${firstLine(error)}` };
  }
}

function quietTfjs(): void {
  // PROD silences tfjs's "install tfjs-node" banner and its debug checks.
  tf.env().set('PROD', true);
}

function probeTfjsNode(packageName: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node'): () => Promise<ProbeResult> {
  return async () => {
    quietTfjs();
    let mod: Record<string, unknown>;
    try {
      mod = await importOptional(packageName);
    } catch (error) {
      return {
        ok: false,
        reason: isNotInstalled(error, packageName) ? `${packageName} is not installed` : `${packageName} failed to load: ${firstLine(error)}`,
      };
    }
    try {
      if (!(await initTfjs('tensorflow'))) {
        return { ok: false, reason: `${packageName} loaded but its "tensorflow" backend failed to initialise` };
      }
    } catch (error) {
      return { ok: false, reason: `${packageName} loaded but its backend failed: ${firstLine(error)}` };
    }
    const native = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
    const isGpu = native.isUsingGpuDevice === true;
    const version = typeof mod.version === 'string' ? mod.version : tf.version_core;
    const device = isGpu ? 'GPU (CUDA, libtensorflow)' : 'CPU (libtensorflow, native threads)';
    return {
      ok: true,
      backend: createTfjsBackend({
        name: 'tensorflow',
        tfjsName: 'tensorflow',
        description: { name: 'tensorflow', device, isGpu, version: `${packageName}@${version}` },
      }),
    };
  };
}

interface GpuAdapterLike {
  readonly info?: { vendor?: string; architecture?: string; device?: string; description?: string };
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapterLike | null>;
}

/** Where Debian, Fedora and Arch put the Vulkan loader; LD_LIBRARY_PATH is searched first. */
const VULKAN_LOADER_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/lib64'];

/** On Linux, Dawn needs libvulkan.so.1; without it, loading Dawn only prints a warning and finds nothing. */
function vulkanLoaderMissing(): boolean {
  if (process.platform !== 'linux') return false;
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), ...VULKAN_LOADER_DIRS];
  return !dirs.some((dir) => existsSync(join(dir, 'libvulkan.so.1')));
}

async function probeWebgpu(): Promise<ProbeResult> {
  quietTfjs();
  if (vulkanLoaderMissing()) {
    return { ok: false, reason: 'libvulkan.so.1 not found, so Dawn cannot reach a GPU (Debian: apt-get install libvulkan1 and a GPU driver)' };
  }
  let gpu: GpuLike;
  try {
    const dawn = (await importOptional('webgpu')) as { create: (flags: string[]) => GpuLike; globals: object };
    Object.assign(globalThis, dawn.globals);
    gpu = dawn.create([]);
  } catch (error) {
    return { ok: false, reason: isNotInstalled(error, 'webgpu') ? 'the webgpu (Dawn) package is not installed' : `Dawn failed to load: ${firstLine(error)}` };
  }
  let adapter: GpuAdapterLike | null;
  try {
    adapter = await withTimeout(gpu.requestAdapter({ powerPreference: 'high-performance' }), 'WebGPU requestAdapter');
  } catch (error) {
    return { ok: false, reason: firstLine(error) };
  }
  if (adapter === null) {
    return { ok: false, reason: 'Dawn found no WebGPU adapter (no GPU with a Vulkan/Metal/D3D12 driver; CPU Vulkan is rejected)' };
  }
  const existing = (globalThis as { navigator?: object }).navigator;
  Object.defineProperty(globalThis, 'navigator', { value: { ...existing, gpu }, configurable: true, writable: true });
  const loaded = await loadTfjsBackendPackage('webgpu', 'a WebGPU adapter was found but ');
  if (!loaded.ok) return loaded;
  const { version } = loaded;
  const info = adapter.info ?? {};
  const name = [info.vendor, info.description || info.device || info.architecture].filter(Boolean).join(' ');
  return {
    ok: true,
    backend: createTfjsBackend({
      name: 'webgpu',
      tfjsName: 'webgpu',
      description: { name: 'webgpu', device: `GPU (WebGPU: ${name || 'unnamed adapter'})`, isGpu: true, version: `tfjs-backend-webgpu@${version}` },
    }),
  };
}

async function probeWasm(): Promise<ProbeResult> {
  quietTfjs();
  const loaded = await loadTfjsBackendPackage('wasm', '', ' (its .wasm files could not be loaded)');
  if (!loaded.ok) return loaded;
  const { version } = loaded;
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  const threads = (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) === true;
  const device = `CPU (WebAssembly${simd ? ' SIMD' : ''}, ${threads ? 'multi-threaded' : '1 thread'})`;
  return {
    ok: true,
    backend: createTfjsBackend({ name: 'wasm', tfjsName: 'wasm', description: { name: 'wasm', device, isGpu: false, version: `tfjs-backend-wasm@${version}` } }),
  };
}

async function probeCpu(): Promise<ProbeResult> {
  quietTfjs();
  const loaded = await loadTfjsBackendPackage('cpu');
  if (!loaded.ok) return loaded;
  const { version } = loaded;
  return {
    ok: true,
    backend: createTfjsBackend({
      name: 'cpu',
      tfjsName: 'cpu',
      description: { name: 'cpu', device: 'CPU (tfjs reference kernels, JavaScript)', isGpu: false, version: `tfjs-backend-cpu@${version}` },
    }),
  };
}

async function probeTs(): Promise<ProbeResult> {
  return { ok: true, backend: createTsBackend() };
}

/** In order of preference. */
export const BACKEND_CANDIDATES = [
  {
    id: 'tensorflow-gpu',
    backend: 'tensorflow',
    packages: '@tensorflow/tfjs-node-gpu',
    automatic: true,
    note: 'native TensorFlow with CUDA; optional dependency whose install downloads libtensorflow',
    probe: probeTfjsNode('@tensorflow/tfjs-node-gpu'),
  },
  {
    id: 'tensorflow-cpu',
    backend: 'tensorflow',
    packages: '@tensorflow/tfjs-node',
    automatic: true,
    note: 'native TensorFlow on the CPU, if the user installed it',
    probe: probeTfjsNode('@tensorflow/tfjs-node'),
  },
  {
    id: 'webgpu',
    backend: 'webgpu',
    packages: '@tensorflow/tfjs-backend-webgpu + webgpu (Dawn)',
    automatic: true,
    note: 'GPU through Dawn; needs a real Vulkan/Metal/D3D12 driver',
    probe: probeWebgpu,
  },
  {
    id: 'wasm',
    backend: 'wasm',
    packages: '@tensorflow/tfjs-backend-wasm',
    automatic: true,
    note: 'default CPU tier: ~30 GFLOP/s f32 GEMM, installs from npm alone',
    probe: probeWasm,
  },
  {
    id: 'ts',
    backend: 'ts',
    packages: '(built in)',
    automatic: true,
    note: 'pure TypeScript f64: the test oracle and the last resort (~2 GFLOP/s)',
    probe: probeTs,
  },
  {
    id: 'cpu',
    backend: 'cpu',
    packages: '@tensorflow/tfjs-backend-cpu',
    automatic: false,
    note: 'tfjs reference kernels, slower than ts (~0.7 GFLOP/s); only when asked for (tests)',
    probe: probeCpu,
  },
] as const satisfies readonly CandidateSpec[];

export type CandidateId = (typeof BACKEND_CANDIDATES)[number]['id'];

const probed = new Map<string, Promise<ProbeResult>>();
/** Probes run one at a time: tfjs's engine has one active backend, and two overlapping setBackend calls leave it inconsistent. */
let probeQueue: Promise<unknown> = Promise.resolve();

/** Probes one candidate once per thread; later calls return the same result (and backend instance). */
export function probeCandidate(spec: CandidateSpec): Promise<ProbeResult> {
  let result = probed.get(spec.id);
  if (result === undefined) {
    result = probeQueue.then(() => spec.probe()).catch((error: unknown) => ({ ok: false as const, reason: `probe failed: ${firstLine(error)}` }));
    probeQueue = result;
    probed.set(spec.id, result);
  }
  return result;
}

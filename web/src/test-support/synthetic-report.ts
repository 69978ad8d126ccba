// A synthetic diagnostics report of a chosen size (default 224 modules × 8 adapters, the size of an
// all-linear LoRA on a 28-layer model), with intruder bounds, overlaps, projections and retention.
import type { DiagnosticsReport, ModuleEntry } from '../../../src/report/schema.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TYPES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj', 'lm_adapter'];

export interface SyntheticOptions {
  readonly adapters?: number;
  readonly layers?: number;
  readonly types?: number;
  readonly rank?: number;
  readonly k?: number;
  readonly baseVectors?: number;
}

export function syntheticReport(options: SyntheticOptions = {}): DiagnosticsReport {
  const adapters = options.adapters ?? 8;
  const layers = options.layers ?? 28;
  const types = TYPES.slice(0, options.types ?? 8);
  const rank = options.rank ?? 16;
  const k = options.k ?? 10;
  const K = options.baseVectors ?? 32;
  const rand = rng(42);
  const modules: ModuleEntry[] = [];
  for (let a = 0; a < adapters; a++) {
    for (let layer = 0; layer < layers; layer++) {
      for (const type of types) {
        const sigma = Array.from({ length: rank }, (_, i) => 2 * Math.exp(-i / 4) * (0.8 + 0.4 * rand()));
        const total = sigma.reduce((s, x) => s + x * x, 0);
        let acc = 0;
        const energy = sigma.map((x) => ((acc += x * x), acc / total));
        const vectors = Array.from({ length: k }, (_, j) => {
          const c = rand();
          const gap = rand() < 0.1 ? 0.05 : 0;
          return { index: j, sigma: 10 - j * 0.5, maxCosLower: c, maxCosUpper: Math.min(1, c + gap), rho: 0, nearestBase: j, basisSize: K, route: 'partial-basis' as const };
        });
        modules.push({
          adapter: `adapter-${a}`,
          adapterIndex: a,
          module: `model.layers.${layer}.${type.endsWith('proj') && type.length === 6 ? 'self_attn' : 'mlp'}.${type}`,
          layer,
          moduleType: type,
          shape: [1024, 1024],
          rank,
          scale: 2,
          layout: 'linear',
          spectrum: {
            singularValues: sigma,
            effectiveRank: 5 + rand() * 5,
            stableRank: 1 + rand() * 2,
            frobeniusNorm: Math.sqrt(total),
            energy,
            rankForEnergy: { '0.9': 6, '0.95': 8, '0.99': 12 },
            suggestedRank: 12,
            unitNorms: sigma.map((x) => x * 1.1),
          },
          intruders: {
            baseTensor: `model.layers.${layer}.${type}.weight`,
            baseTensorSha256: '0'.repeat(64),
            transposed: false,
            tunedSigma: Array.from({ length: k }, (_, j) => 10 - j * 0.5),
            baseSigma: Array.from({ length: K }, (_, j) => 10 - j * 0.2),
            vectors,
            counts: [],
            sweep: [],
            similarity: Array.from({ length: k }, () => Array.from({ length: K }, () => rand())),
            base: { basisSize: K, complete: false, fromCache: false, decompositions: 1, fullSvd: false },
            quadratureSteps: 0,
          },
        });
      }
    }
  }
  const names = Array.from({ length: adapters }, (_, a) => `adapter-${a}`);
  const overlaps = [];
  for (let i = 0; i < adapters; i++) {
    for (let j = i + 1; j < adapters; j++) {
      overlaps.push({ first: i, second: j, commonModules: layers * types.length, meanColumnOverlap: rand(), meanRowOverlap: rand(), meanSignConflict: rand() / 2, modules: [] });
    }
  }
  const projections = Array.from({ length: Math.min(4, modules.length) }, (_, p) => ({
    module: modules[p]!.module,
    explained: [0.4, 0.2] as [number, number],
    points: Array.from({ length: adapters * rank }, (_, u) => ({
      adapterIndex: Math.floor(u / rank),
      rankIndex: u % rank,
      x: rand(),
      y: rand(),
      norm: rand(),
      cluster: u % rank,
    })),
  }));
  const retention = modules.slice(0, layers * types.length).map((m) => ({
    module: m.module,
    source: 'recomputed' as const,
    inputs: names.map((input) => ({ input, projection: 0.5 + rand() / 2, relativeError: rand() })),
  }));
  return {
    schemaVersion: 1,
    kind: 'awb.diagnostics-report',
    tool: { name: 'adapter-workbench', version: '0.1.0' },
    createdAt: '2026-11-24T01:00:00.000Z',
    backend: 'ts-f64 (synthetic)',
    seed: 0,
    settings: { k, epsilons: [0.5], sweep: [0.1, 0.3, 0.5, 0.7, 0.9], route: 'auto', suggestedEnergy: 0.99, cacheDir: null },
    inputs: {
      adapters: names.map((name, index) => ({ index, name, path: name, format: 'peft', baseModel: 'synthetic', moduleCount: layers * types.length, sha256: [] })),
      base: { path: 'synthetic-base', tensorsAnalysed: layers * types.length },
      mergeReport: null,
    },
    modules,
    intruders: null,
    overlaps,
    projections,
    retention,
    problems: [],
    warnings: [],
    timings: { seconds: 1 },
  };
}

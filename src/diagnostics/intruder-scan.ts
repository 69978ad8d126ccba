// Intruder dimensions of one module (algorithms.md §2.1, §6.3, §6.4): the top-k
// left singular vectors of W_ft = W0 + s·B·A (as an operator, never densified)
// compared with ALL left singular vectors of W0. The base side starts from a
// certified partial basis and grows it only for undecided vectors; the full SVD
// is the last resort. Every decision records the route that made it.
import type { Mat } from '../tensor/matrix.ts';
import { throwIfAborted } from '../errors.ts';
import type { Backend } from '../compute/backend.ts';
import { createDenseOperator } from '../compute/dense-operator.ts';
import { lowRankOperator } from '../compute/low-rank-operator.ts';
import { sumOperator } from '../compute/sum-operator.ts';
import { createTsBackend } from '../compute/ts-backend.ts';
import { exactDenseOperator, exactOperatorAccelerated, releaseExactCopies } from '../compute/exact-dense-operator.ts';
import { fullBasis, partialBasis, type BaseBasis, type BaseProducts, type BasisCache } from './base-basis.ts';
import { cosineBounds, decide, type CosineBounds } from './certified-decision.ts';
import { topSingular } from './top-singular.ts';
import { blockTopSingular } from './block-top-singular.ts';
import { quadratureBounds } from './quadrature-bound.ts';
import { computeRangeProjector, rangeProjectorFrom } from './range-projection.ts';

export type DecisionRoute = 'partial-basis' | 'quadrature-bound' | 'full-svd';

export interface IntruderScanOptions {
  readonly k: number;
  /** Thresholds that must be decided exactly (the basis grows until they are). */
  readonly epsilons: readonly number[];
  /** Thresholds reported as a curve; decided where the final basis allows, else counted as undecided. */
  readonly sweep: readonly number[];
  readonly seed: number;
  /** 'auto': certified partial basis first; 'full': straight to the full SVD (the reference route). */
  readonly route?: 'auto' | 'full';
  /** First basis size for the partial route (default max(2k, 16) on the f64 backend, max(⌈k/2⌉, 4) on f32 ones). */
  readonly initialBasis?: number;
  readonly cache: BasisCache;
  /** Cache key of the base tensor: sha256 of its stored bytes plus orientation. */
  readonly baseKey: string;
  /** Size of the similarity matrix kept for plots (default 32). */
  readonly similaritySize?: number;
  /** Lanczos steps allowed for the quadrature certificate (0 disables it; default 48). */
  readonly quadratureSteps?: number;
  readonly signal?: AbortSignal;
  /**
   * Where the iterative products with W0 run (W0 uploaded once per scan). Default: the f64
   * TypeScript backend. With an f32 backend (wasm, GPU) every certificate is still computed
   * from f64 products (explicit residuals, quadrature), so decisions stay certified.
   */
  readonly backend?: Backend;
  /**
   * Where the iterative products with W0 run: 'auto' (default) uses the f64 WebAssembly SIMD
   * kernels on a CPU backend when they cover the shape (as fast as the backend's f32 GEMM here, and
   * exact), else the backend; 'backend' always iterates on the backend (GPU backends always do).
   */
  readonly iterations?: 'auto' | 'backend';
}

export interface IntruderVector {
  readonly index: number;
  readonly sigma: number;
  /** Bounds on max_i |cos(u_j, u0_i)| over all base vectors; equal when exact. */
  readonly maxCosLower: number;
  readonly maxCosUpper: number;
  readonly rho: number;
  /** Base vector index attaining the known maximum. */
  readonly nearestBase: number;
  readonly basisSize: number;
  readonly route: DecisionRoute;
}

export interface EpsilonCount {
  readonly epsilon: number;
  readonly intruders: number;
  readonly undecided: number;
  readonly byRoute: Readonly<Record<DecisionRoute, number>>;
}

export interface ModuleIntruderResult {
  readonly k: number;
  readonly tunedSigma: number[];
  readonly baseSigma: number[];
  readonly vectors: IntruderVector[];
  readonly counts: EpsilonCount[];
  readonly sweep: EpsilonCount[];
  /** |cos| between the top tuned (rows) and top base (columns) left singular vectors. */
  readonly similarity: number[][];
  readonly base: {
    readonly basisSize: number;
    readonly complete: boolean;
    readonly fromCache: boolean;
    /** Base decompositions computed in this scan (0 when the cache answered). */
    readonly decompositions: number;
    readonly fullSvd: boolean;
  };
  readonly tunedIterations: number;
  /** Largest number of Lanczos steps the quadrature certificate took (0 when unused). */
  readonly quadratureSteps: number;
  /** Tuned triplets, kept for mitigation (not serialised). */
  readonly triplets: { readonly u: Float64Array[]; readonly s: Float64Array; readonly v: Float64Array[] };
}

export async function scanModuleIntruders(W0: Mat, B: Mat, A: Mat, scale: number, options: IntruderScanOptions): Promise<ModuleIntruderResult> {
  const backend = options.backend ?? createTsBackend();
  const f32Backend = backend.epsilon > 2 ** -50;
  const exact = f32Backend ? exactDenseOperator(W0.rows, W0.cols, W0.data) : undefined;
  // On a CPU backend, the f64 WebAssembly SIMD products (wasm-kernels.ts) are as fast as the
  // backend's f32 GEMM: iterate on them directly (exact, no upload, no f32 floor to certify past).
  const iterateExact =
    exact !== undefined && options.iterations !== 'backend' && !backend.description.isGpu && exactOperatorAccelerated(W0.rows, W0.cols, W0.data);
  const fast = iterateExact ? undefined : createDenseOperator(backend, W0.rows, W0.cols, W0.data);
  try {
    const iterations = fast ?? exact!;
    const products: BaseProducts = { fast: iterations, epsilon: fast ? backend.epsilon : 2 ** -53, exact: exact ?? iterations, blocked: f32Backend };
    return await scan(W0, B, A, scale, options, products);
  } finally {
    fast?.dispose();
    releaseExactCopies(W0.data);
  }
}

async function scan(W0: Mat, B: Mat, A: Mat, scale: number, options: IntruderScanOptions, products: BaseProducts): Promise<ModuleIntruderResult> {
  const p = Math.min(W0.rows, W0.cols);
  const k = Math.min(options.k, p);
  // sumOperator's dispose() would dispose W0's operator: these sums are never disposed.
  const delta = lowRankOperator(B, A, scale);
  const tunedFast = sumOperator(products.fast, delta);
  const tunedExact = products.exact === products.fast ? tunedFast : sumOperator(products.exact, delta);
  // Block products (an f32 backend's GEMMs, or the f64 SIMD kernels) cost little more per block
  // than per vector: block Krylov (block-top-singular.ts); the f64 TS oracle keeps single-vector Lanczos.
  const solver = products.blocked ? blockTopSingular : topSingular;
  let tuned = await solver(tunedFast, k, {
    seed: options.seed,
    signal: options.signal,
    angleTolerance: 1e-9,
    epsilon: products.epsilon,
    ...(tunedExact === tunedFast ? {} : { certify: tunedExact }),
  });
  // f32 iterations leave the tuned vectors within their (f64-certified) angle bound of the true
  // ones, so even the full basis decides them only up to that margin; a vector still undecided
  // there has its triplets recomputed in f64, after which the full route needs no margin.
  let tunedIsF64 = tunedExact === tunedFast;
  let tunedIterations = tuned.iterations;
  const cached = await options.cache.get(options.baseKey);
  let decompositions = 0;
  let basis: BaseBasis;
  const fromCache = cached !== undefined;
  const wantFull = options.route === 'full';
  // On f32 backends the first basis is k/2 wide: the non-intruders align with the leading base
  // vectors, and a narrow request converges in a few block steps (a vector left undecided grows
  // the basis ×4 as before); the f64 oracle keeps max(2k, 16).
  let basisRequest = Math.min(p, options.initialBasis ?? (products.blocked ? Math.max(Math.ceil(k / 2), 4) : Math.max(2 * k, 16)));
  if (cached && (cached.complete || !wantFull)) {
    basis = cached;
  } else if (wantFull) {
    basis = fullBasis(W0);
    decompositions++;
    await options.cache.put(options.baseKey, basis);
  } else {
    // The tuned top vectors start the base iteration: the non-intruders among them are close to
    // the leading base vectors the basis must hold.
    basis = await partialBasis(W0, basisRequest, options.seed + 1, options.signal, products, tuned.u);
    decompositions++;
    if (basis.vectors.length >= p) basis = { ...basis, complete: true, angleBound: basis.angleBound };
    await options.cache.put(options.baseKey, basis);
  }
  const routes: (DecisionRoute | undefined)[] = new Array<DecisionRoute | undefined>(tuned.u.length).fill(undefined);
  const quadrature: number[] = tuned.u.map(() => 1);
  // Tall W0 (m > n): W0·W0ᵀ has an (m−n)-fold zero eigenvalue holding the part of u outside
  // range(W0), which the Gauss rule cannot separate from small base atoms (measured: 240 steps
  // still above ε = 0.5 on a 2752×1024 layer). There both certificates work on the projection
  // P·u onto range(W0) instead (range-projection.ts): ρ² = ‖P·u‖² − Σ_known c², and the
  // quadrature bound of P·u, which has no mass at that zero eigenvalue.
  let quadratureRun = (options.quadratureSteps ?? 48) <= 0;
  let quadratureSteps = 0;
  let bounds: CosineBounds[] = [];
  /** Upper bound on ‖P·û_j‖ (tall modules, once projected). */
  const rangeMass: (number | undefined)[] = tuned.u.map(() => undefined);
  // The known cosines are exact (up to their margin); the quadrature bound caps only the unknown ones.
  const withQuadrature = (bd: CosineBounds, j: number, b: BaseBasis): CosineBounds => {
    if (b.complete) return bd;
    const knownUpper = 2 * bd.maxKnown - bd.lower; // maxKnown + margin
    let cap = quadrature[j]!;
    const mass = rangeMass[j];
    if (mass !== undefined) {
      // Σ over the unknown base vectors of (u_iᵀû)² = ‖P·û‖² − Σ_known (u_iᵀû)², where each known
      // u_iᵀû ≥ ĉ_i − ‖u_i − û_i‖ (the computed base vectors are within 2·angleBound); then the
      // true u is within 2·angleBound of û.
      const mb = 2 * b.angleBound + 1e-12;
      let known = 0;
      for (const c of bd.cosines) known += Math.max(0, c - mb) ** 2;
      cap = Math.min(cap, Math.sqrt(Math.max(0, mass * mass - known)) + 2 * tuned.angleBound[j]! + 1e-9);
    }
    return { ...bd, upper: Math.max(knownUpper, Math.min(bd.upper, cap)) };
  };
  const withQuadratureCap = (bd: CosineBounds, cap: number): Pick<CosineBounds, 'lower' | 'upper'> => ({
    lower: bd.lower,
    upper: Math.max(2 * bd.maxKnown - bd.lower, Math.min(bd.upper, cap)),
  });
  const decidedAll = (bd: Pick<CosineBounds, 'lower' | 'upper'>): boolean =>
    options.epsilons.every((eps) => decide(bd, eps) !== 'undecided');
  for (;;) {
    throwIfAborted(options.signal, 'intruder scan');
    const b = basis;
    bounds = tuned.u.map((u, j) =>
      withQuadrature(
        cosineBounds(u, b.vectors, b.complete, b.complete ? (tunedIsF64 ? 0 : tuned.angleBound[j]!) : tuned.angleBound[j]! + b.angleBound + 1e-13),
        j,
        b,
      ),
    );
    bounds.forEach((bd, j) => {
      if (routes[j] === undefined && decidedAll(bd)) routes[j] = b.complete ? 'full-svd' : 'partial-basis';
    });
    let undecided = bounds.map((_, j) => j).filter((j) => routes[j] === undefined);
    if (undecided.length > 0 && !b.complete && !quadratureRun) {
      quadratureRun = true;
      const tall = W0.rows > W0.cols;
      // The projector (Gram + Cholesky + inverse factor, O(m·n²)) is cached beside the basis, so a
      // second adapter on the same base pays only the projections.
      let projectorState = tall ? await options.cache.getProjector(options.baseKey) : undefined;
      if (tall && !projectorState) {
        projectorState = computeRangeProjector(W0);
        decompositions++;
        if (projectorState) await options.cache.putProjector(options.baseKey, projectorState);
      }
      const projector = projectorState && rangeProjectorFrom(projectorState);
      const projected = projector ? await projector.project(products.exact, undecided.map((j) => tuned.u[j]!)) : undefined;
      if (projected) {
        projected.forEach((pr, a) => {
          const j = undecided[a]!;
          rangeMass[j] = Math.min(1, pr.norm + pr.error);
          bounds[j] = withQuadrature(bounds[j]!, j, b);
          if (decidedAll(bounds[j]!)) routes[j] = 'quadrature-bound';
        });
      }
      // Bound on max |cos(u_j, base)| from an atom bound q of the Lanczos start vector: û itself,
      // or p̂/‖p̂‖ on tall modules, where |u_iᵀû| = |u_iᵀP·û| ≤ ‖p̂‖·q + ‖P·û − p̂‖.
      const cap = (a: number, q: number): number => {
        const j = undecided[a]!;
        const pr = projected?.[a];
        if (pr === undefined) return Math.min(1, q + tuned.angleBound[j]! + 1e-9);
        return Math.min(1, pr.norm * q + pr.error + 2 * tuned.angleBound[j]! + 1e-9);
      };
      if (!tall || projected) {
        const starts = undecided.map((j, a) => {
          const pr = projected?.[a];
          return pr === undefined ? tuned.u[j]! : pr.p.map((x) => x / pr.norm);
        });
        const found = await quadratureBounds(products.exact, starts, {
          maxSteps: options.quadratureSteps ?? 48,
          checkEvery: 1,
          spectrumUpper: frobeniusSquared(W0),
          signal: options.signal,
          stop: (a, upper) => {
            const j = undecided[a]!;
            if (routes[j] !== undefined) return true;
            return decidedAll(withQuadratureCap(bounds[j]!, cap(a, upper)));
          },
        });
        found.forEach((q, a) => {
          const j = undecided[a]!;
          quadrature[j] = cap(a, q.upper);
          quadratureSteps = Math.max(quadratureSteps, q.steps);
          const bd = withQuadrature(bounds[j]!, j, b);
          bounds[j] = bd;
          if (routes[j] === undefined && decidedAll(bd)) routes[j] = 'quadrature-bound';
        });
      }
      undecided = undecided.filter((j) => routes[j] === undefined);
    }
    if (undecided.length === 0) break;
    if (b.complete) {
      if (tunedIsF64) break;
      tuned = await topSingular(tunedExact, k, { seed: options.seed, signal: options.signal, angleTolerance: 1e-9 });
      tunedIsF64 = true;
      tunedIterations += tuned.iterations;
      continue;
    }
    // Growing the partial basis costs a subspace iteration of width ~2K per step; past p/16 the
    // dense eigen-decomposition is cheaper than another growth step.
    basisRequest *= 4;
    const next = Math.min(p, basisRequest);
    if (next > p / 16) {
      basis = fullBasis(W0);
    } else {
      basis = await partialBasis(W0, next, options.seed + 1, options.signal, products);
    }
    decompositions++;
    await options.cache.put(options.baseKey, basis);
  }
  const vectors: IntruderVector[] = bounds.map((bd, j) => ({
    index: j,
    sigma: tuned.s[j]!,
    maxCosLower: Math.max(0, bd.lower),
    maxCosUpper: Math.min(1, bd.upper),
    rho: bd.rho,
    nearestBase: bd.argmax,
    basisSize: basis.vectors.length,
    route: routes[j] ?? 'full-svd',
  }));
  const count = (eps: number): EpsilonCount => {
    let intruders = 0;
    let undecided = 0;
    const byRoute: Record<DecisionRoute, number> = { 'partial-basis': 0, 'quadrature-bound': 0, 'full-svd': 0 };
    bounds.forEach((bd, j) => {
      const d = decide(bd, eps);
      if (d === 'intruder') {
        intruders++;
        byRoute[routes[j] ?? 'full-svd']++;
      } else if (d === 'undecided') undecided++;
    });
    return { epsilon: eps, intruders, undecided, byRoute };
  };
  const size = Math.min(options.similaritySize ?? 32, basis.vectors.length);
  const similarity = bounds.map((bd) => Array.from(bd.cosines.subarray(0, size), round6));
  return {
    k,
    tunedSigma: Array.from(tuned.s),
    baseSigma: Array.from(basis.sigma.subarray(0, Math.min(basis.sigma.length, 256))),
    vectors,
    counts: options.epsilons.map(count),
    sweep: options.sweep.map(count),
    similarity,
    base: {
      basisSize: basis.vectors.length,
      complete: basis.complete,
      fromCache,
      decompositions,
      fullSvd: basis.complete,
    },
    tunedIterations,
    quadratureSteps,
    triplets: { u: tuned.u, s: tuned.s, v: tuned.v },
  };
}

/** ‖W0‖_F² = trace(W0·W0ᵀ) ≥ its largest eigenvalue, with a relative margin for rounding. */
function frobeniusSquared(W0: Mat): number {
  let s = 0;
  for (let i = 0; i < W0.data.length; i++) s += W0.data[i]! * W0.data[i]!;
  return s * (1 + 1e-12 * Math.sqrt(W0.data.length)) + Number.MIN_VALUE;
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

// Left singular vectors of a base weight W0 (canonical m×n): the top K by subspace
// iteration, or all p = min(m, n) from the symmetric eigenproblem of the smaller Gram
// matrix (the full-SVD route). Cached on disk by the stored tensor's sha256 so that a
// second adapter on the same base pays nothing (§6.4).
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Mat } from '../tensor/matrix.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { parseSafetensors } from '../safetensors/reader.ts';
import { floatTensor, serializeSafetensors } from '../safetensors/writer.ts';
import { tsGemm } from '../compute/ts-gemm.ts';
import { normaliseSignInPlace, symmetricEigen } from './dense-kernels.ts';
import type { LinearOperator } from '../linalg/operator.ts';
import { matOperator } from '../linalg/mat-operator.ts';
import { topSingular } from './top-singular.ts';
import { blockTopSingular } from './block-top-singular.ts';
import type { RangeProjectorState } from './range-projection.ts';

/**
 * How the diagnostics multiply by W0: `fast` on the compute backend (W0 resident there, f32 on
 * tfjs backends, unit roundoff `epsilon`) for the iterations, `exact` in f64 for certificates.
 * With an f64 backend both may be the same operator.
 */
export interface BaseProducts {
  readonly fast: LinearOperator;
  readonly epsilon: number;
  readonly exact: LinearOperator;
  /** Products of blocks cost little more than of one vector (GEMM-like): use the block Krylov solvers. */
  readonly blocked?: boolean;
}

export interface BaseBasis {
  /** m: length of each vector. */
  readonly rows: number;
  readonly cols: number;
  /** Top left singular vectors of W0, in descending σ order. */
  readonly vectors: readonly Float64Array[];
  readonly sigma: Float64Array;
  /** True when `vectors` holds all p = min(m, n) of them (the full SVD). */
  readonly complete: boolean;
  /** Largest angle bound (sin) of the vectors; 0 for the full route. */
  readonly angleBound: number;
}

export function fullBasis(W0: Mat): BaseBasis {
  const { rows: m, cols: n } = W0;
  if (m <= n) {
    const eig = symmetricEigen(m, tsGemm(W0, W0, false, true).data);
    const vectors = eig.vectors.map((v) => {
      normaliseSignInPlace(v);
      return v;
    });
    return { rows: m, cols: n, vectors, sigma: eig.values.map((l) => Math.sqrt(Math.max(l, 0))), complete: true, angleBound: 0 };
  }
  // Tall: eigenvectors of WᵀW give V; U = W V / σ. Columns with σ = 0 are completed by Gram–Schmidt.
  const eig = symmetricEigen(n, tsGemm(W0, W0, true, false).data);
  const sigma = eig.values.map((l) => Math.sqrt(Math.max(l, 0)));
  const vectors: Float64Array[] = [];
  const sigma1 = sigma[0] ?? 0;
  for (let j = 0; j < n; j++) {
    const v = eig.vectors[j]!;
    const u = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      let s = 0;
      const row = i * n;
      for (let c = 0; c < n; c++) s += W0.data[row + c]! * v[c]!;
      u[i] = s;
    }
    if (sigma[j]! > sigma1 * 1e-13 && sigma[j]! > 0) {
      // Re-orthogonalise against the previous vectors for accuracy in the small values.
      for (const q of vectors) {
        let d = 0;
        for (let i = 0; i < m; i++) d += q[i]! * u[i]!;
        for (let i = 0; i < m; i++) u[i] = u[i]! - d * q[i]!;
      }
      let nn = 0;
      for (let i = 0; i < m; i++) nn += u[i]! * u[i]!;
      nn = Math.sqrt(nn);
      for (let i = 0; i < m; i++) u[i] = u[i]! / nn;
      normaliseSignInPlace(u);
      vectors.push(u);
    } else {
      break;
    }
  }
  return { rows: m, cols: n, vectors, sigma: sigma.subarray(0, vectors.length), complete: vectors.length === n, angleBound: 0 };
}

/** Largest angle bound (sin) a partial-basis vector may carry; looser trailing vectors are dropped. */
export const PARTIAL_BASIS_MAX_ANGLE = 1e-3;

export async function partialBasis(
  W0: Mat,
  K: number,
  seed: number,
  signal?: AbortSignal,
  products?: BaseProducts,
  start?: readonly Float64Array[],
): Promise<BaseBasis> {
  const exact = products?.exact ?? matOperator(W0);
  const fast = products?.fast ?? exact;
  const epsilon = products?.epsilon ?? 2 ** -53;
  const solver = products?.blocked ? blockTopSingular : topSingular;
  const top = await solver(fast, K, { seed, signal, angleTolerance: 1e-9, epsilon, acceptPrefix: true, ...(start ? { start } : {}), ...(fast === exact ? {} : { certify: exact }) });
  // Keep the leading vectors whose angle bound is useful: deep in a slowly decaying bulk the
  // last ones may not separate from their neighbours, and one loose vector would widen the
  // margin (the basis carries its worst bound) of every cosine.
  let keep = 0;
  let worst = 0;
  while (keep < top.u.length && top.angleBound[keep]! <= PARTIAL_BASIS_MAX_ANGLE) worst = Math.max(worst, top.angleBound[keep++]!);
  return { rows: W0.rows, cols: W0.cols, vectors: top.u.slice(0, keep), sigma: top.s.slice(0, keep), complete: false, angleBound: worst };
}

/** Where base spectra are kept between runs. Keyed by the stored tensor's sha256 and the orientation. */
export interface BasisCache {
  get(key: string): Promise<BaseBasis | undefined>;
  put(key: string, basis: BaseBasis): Promise<void>;
  /** Range projector of a tall base (range-projection.ts): its f32 inverse factor, n(n+1)/2 values. */
  getProjector(key: string): Promise<RangeProjectorState | undefined>;
  putProjector(key: string, state: RangeProjectorState): Promise<void>;
}

export function memoryBasisCache(): BasisCache {
  const map = new Map<string, BaseBasis>();
  const projectors = new Map<string, RangeProjectorState>();
  return {
    get: async (key) => map.get(key),
    put: async (key, basis) => {
      map.set(key, basis);
    },
    getProjector: async (key) => projectors.get(key),
    putProjector: async (key, state) => {
      projectors.set(key, state);
    },
  };
}

/** Format of the projector files; an entry of another version is recomputed. */
const PROJECTOR_FORMAT = 'awb-range-projector-1';

/**
 * A folder of safetensors files: `<key>.safetensors` (F64 basis vectors) and, for tall bases,
 * `<key>.range.safetensors` (the range projector's F32 inverse factor); a memory layer sits in front
 * of the bases.
 */
export function diskBasisCache(dir: string): BasisCache {
  const memory = new Map<string, BaseBasis>();
  const stem = (key: string): string => join(dir, key.replace(/[^A-Za-z0-9_.-]/g, '_'));
  const fileFor = (key: string): string => `${stem(key)}.safetensors`;
  const projectorFileFor = (key: string): string => `${stem(key)}.range.safetensors`;
  return {
    // Projectors are not kept in memory here (34 MB per 4096-column tensor, one per tall module of a
    // model): reading one back costs tens of milliseconds.
    async getProjector(key) {
      let bytes: Uint8Array;
      try {
        bytes = await readFile(projectorFileFor(key));
      } catch {
        return undefined;
      }
      try {
        const source = parseSafetensors(bytes, projectorFileFor(key));
        const meta = source.metadata;
        const rows = Number(meta.rows);
        const cols = Number(meta.cols);
        const sigmaMinLower = Number(meta.sigmaMinLower);
        const normF = Number(meta.normF);
        const inverseFactor = await source.readFloat32('inverse_factor');
        const valid =
          meta.format === PROJECTOR_FORMAT &&
          Number.isInteger(rows) &&
          Number.isInteger(cols) &&
          rows > cols &&
          inverseFactor.length === (cols * (cols + 1)) / 2 &&
          sigmaMinLower > 0 &&
          normF > 0;
        if (!valid) return undefined;
        return { rows, cols, sigmaMinLower, normF, inverseFactor };
      } catch {
        return undefined; // a damaged entry is recomputed and overwritten
      }
    },
    async putProjector(key, state) {
      await mkdir(dir, { recursive: true });
      const bytes = serializeSafetensors([floatTensor('inverse_factor', 'F32', [state.inverseFactor.length], state.inverseFactor)], {
        format: PROJECTOR_FORMAT,
        rows: String(state.rows),
        cols: String(state.cols),
        sigmaMinLower: String(state.sigmaMinLower),
        normF: String(state.normF),
      });
      await writeFileAtomic(projectorFileFor(key), bytes);
    },
    async get(key) {
      const hit = memory.get(key);
      if (hit) return hit;
      let bytes: Uint8Array;
      try {
        bytes = await readFile(fileFor(key));
      } catch {
        return undefined;
      }
      try {
        const source = parseSafetensors(bytes, fileFor(key));
        const meta = source.metadata;
        const rows = Number(meta.rows);
        const cols = Number(meta.cols);
        const flat = await source.readFloat64('u');
        const sigma = await source.readFloat64('sigma');
        const vectors: Float64Array[] = [];
        for (let j = 0; j < sigma.length; j++) vectors.push(flat.slice(j * rows, (j + 1) * rows));
        const basis: BaseBasis = {
          rows,
          cols,
          vectors,
          sigma,
          complete: meta.complete === 'true',
          angleBound: Number(meta.angleBound),
        };
        memory.set(key, basis);
        return basis;
      } catch {
        return undefined; // a damaged cache entry is recomputed and overwritten
      }
    },
    async put(key, basis) {
      memory.set(key, basis);
      await mkdir(dir, { recursive: true });
      const flat = new Float64Array(basis.vectors.length * basis.rows);
      basis.vectors.forEach((v, j) => flat.set(v, j * basis.rows));
      const bytes = serializeSafetensors(
        [floatTensor('u', 'F64', [basis.vectors.length, basis.rows], flat), floatTensor('sigma', 'F64', [basis.sigma.length], basis.sigma)],
        { rows: String(basis.rows), cols: String(basis.cols), complete: String(basis.complete), angleBound: String(basis.angleBound) },
      );
      await writeFileAtomic(fileFor(key), bytes);
    },
  };
}

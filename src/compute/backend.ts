// The compute contract of the library: the few dense operations the algorithms
// need, behind one interface, so that the same code runs on the pure-TS f64
// oracle, tfjs-wasm (the default CPU tier), tfjs-node(-gpu) and WebGPU.
//
// Mats cross the interface in f64 (src/tensor/matrix.ts). Backends built on
// tfjs compute in f32: each backend states its unit roundoff in `epsilon`, and
// tests compare results with tolerances derived from it.
import type { Mat } from '../tensor/matrix.ts';

/** Every backend the library can select. `ts` is the f64 oracle; `cpu` is tfjs's reference kernels. */
export const BACKEND_NAMES = ['tensorflow', 'webgpu', 'wasm', 'cpu', 'ts'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export function isBackendName(value: string): value is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(value);
}

/** What ran, for every output's "computed on …" line. */
export interface BackendDescription {
  readonly name: BackendName;
  /** Human-readable device, e.g. "CPU (WebAssembly SIMD, 1 thread)" or the GPU's name. */
  readonly device: string;
  readonly isGpu: boolean;
  /** Version of the package that computes (tfjs-core + backend package, or the tool for `ts`). */
  readonly version: string;
}

export interface MatmulOptions {
  /** Use aᵀ instead of a. Backends never pass this flag to tfjs-wasm: they transpose explicitly. */
  readonly transposeA?: boolean;
  readonly transposeB?: boolean;
}

/** A matrix uploaded once and multiplied many times (W0 in randomized SVD is multiplied 2q+2 times). */
export interface ResidentMatrix {
  readonly rows: number;
  readonly cols: number;
  /** this · X, with X of shape cols×k. */
  multiply(x: Mat): Promise<Mat>;
  /** thisᵀ · Y, with Y of shape rows×k. The transpose is formed once, on first use, on the backend. */
  multiplyTransposed(y: Mat): Promise<Mat>;
  /** Frees the backend memory. Further calls throw INTERNAL. */
  dispose(): void;
}

export interface QrResult {
  /** m×min(m,n), orthonormal columns. */
  readonly Q: Mat;
  /** min(m,n)×n, upper triangular. */
  readonly R: Mat;
}

export interface Backend {
  readonly name: BackendName;
  readonly description: BackendDescription;
  /** Unit roundoff of the arithmetic: 2⁻²⁴ for f32 backends, 2⁻⁵³ for `ts`. */
  readonly epsilon: number;
  /** a·b (or with transposes). Throws LINALG_SHAPE_MISMATCH when the inner dimensions differ. */
  matmul(a: Mat, b: Mat, options?: MatmulOptions): Promise<Mat>;
  /** a + b, elementwise. */
  add(a: Mat, b: Mat): Promise<Mat>;
  /** factor · a. */
  scale(a: Mat, factor: number): Promise<Mat>;
  /** alpha · x + y. */
  axpy(alpha: number, x: Mat, y: Mat): Promise<Mat>;
  /** ‖a‖_F. */
  frobeniusNorm(a: Mat): Promise<number>;
  /** ‖a[:, j]‖₂ for every column j. */
  columnNorms(a: Mat): Promise<Float64Array>;
  /** Thin QR, a = Q·R. Householder in f64 on every backend (tall-skinny panels are small). */
  qrThin(a: Mat): Promise<QrResult>;
  /** Keeps a rows×cols row-major matrix on the backend (converted to f32 on tfjs backends). */
  upload(rows: number, cols: number, data: Float32Array | Float64Array): ResidentMatrix;
  /** Releases what the backend holds for this instance (resident matrices stay valid until disposed). */
  dispose(): void;
}

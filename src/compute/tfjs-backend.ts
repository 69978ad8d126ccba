// A Backend over @tensorflow/tfjs-core ops, for whichever tfjs backend
// ("tensorflow", "webgpu", "wasm", "cpu") has been registered and initialised
// by probe-backends.ts. tfjs keeps one active backend per thread, so every
// method first makes its own backend the active one (a synchronous switch once
// initialised); tensors remember the backend that holds them.
//
// Rules learnt from substrate.md §1: never pass transposeA/transposeB to
// tf.matMul (tfjs-wasm runs ~40× slower with them) — transpose explicitly,
// and keep Wᵀ resident beside W when both products are needed.
import * as tf from '@tensorflow/tfjs-core';
import { WorkbenchError } from '../errors.ts';
import { qrThin } from '../linalg/qr.ts';
import type { Mat } from '../tensor/matrix.ts';
import type { Backend, BackendDescription, BackendName, MatmulOptions, QrResult, ResidentMatrix } from './backend.ts';
import { float32ToMat, matToFloat32 } from './float32.ts';
import { assertDataLength, assertOperandRows, assertSameShape, matmulShape } from './validate-shapes.ts';

export interface TfjsBackendSpec {
  readonly name: Exclude<BackendName, 'ts'>;
  /** The name tfjs registered the backend under. */
  readonly tfjsName: string;
  readonly description: BackendDescription;
}

function activate(tfjsName: string): void {
  const wanted = tf.engine().findBackend(tfjsName);
  if (tf.getBackend() !== tfjsName || tf.backend() !== wanted) {
    // Resolves synchronously for an initialised backend; the probe initialised it.
    void tf.setBackend(tfjsName);
    if (tf.getBackend() !== tfjsName || wanted === null || tf.backend() !== wanted) {
      throw new WorkbenchError('BACKEND_UNAVAILABLE', `tfjs backend "${tfjsName}" is not initialised`, { permanent: false });
    }
  }
}

function toTensor(m: Mat): tf.Tensor2D {
  return tf.tensor2d(matToFloat32(m), [m.rows, m.cols], 'float32');
}

async function readMat(t: tf.Tensor): Promise<Mat> {
  try {
    const [rows, cols] = t.shape as [number, number];
    const values = (await t.data()) as Float32Array;
    return float32ToMat(rows, cols, values);
  } finally {
    t.dispose();
  }
}

async function readVector(t: tf.Tensor): Promise<Float64Array> {
  try {
    return new Float64Array((await t.data()) as Float32Array);
  } finally {
    t.dispose();
  }
}

function emptyProduct(m: number, k: number, n: number): Mat | undefined {
  return m === 0 || n === 0 || k === 0 ? { rows: m, cols: n, data: new Float64Array(m * n) } : undefined;
}

class TfjsResidentMatrix implements ResidentMatrix {
  private matrix: tf.Tensor2D | undefined;
  private transposed: tf.Tensor2D | undefined;

  constructor(
    private readonly tfjsName: string,
    readonly rows: number,
    readonly cols: number,
    data: Float32Array,
  ) {
    activate(tfjsName);
    this.matrix = tf.tensor2d(data, [rows, cols], 'float32');
  }

  private held(): tf.Tensor2D {
    if (this.matrix === undefined) {
      throw new WorkbenchError('INTERNAL', `resident ${this.rows}×${this.cols} matrix used after dispose()`);
    }
    return this.matrix;
  }

  async multiply(x: Mat): Promise<Mat> {
    assertOperandRows(this.cols, x, `product with resident ${this.rows}×${this.cols} matrix`);
    const empty = emptyProduct(this.rows, this.cols, x.cols);
    if (empty) return empty;
    activate(this.tfjsName);
    const w = this.held();
    return readMat(tf.tidy(() => tf.matMul(w, toTensor(x))));
  }

  async multiplyTransposed(y: Mat): Promise<Mat> {
    assertOperandRows(this.rows, y, `transposed product with resident ${this.rows}×${this.cols} matrix`);
    const empty = emptyProduct(this.cols, this.rows, y.cols);
    if (empty) return empty;
    activate(this.tfjsName);
    const w = this.held();
    this.transposed ??= tf.transpose(w);
    const wt = this.transposed;
    return readMat(tf.tidy(() => tf.matMul(wt, toTensor(y))));
  }

  dispose(): void {
    this.matrix?.dispose();
    this.transposed?.dispose();
    this.matrix = undefined;
    this.transposed = undefined;
  }
}

export function createTfjsBackend(spec: TfjsBackendSpec): Backend {
  const { tfjsName } = spec;
  return {
    name: spec.name,
    description: spec.description,
    epsilon: 2 ** -24,
    async matmul(a: Mat, b: Mat, options: MatmulOptions = {}): Promise<Mat> {
      const [m, k, n] = matmulShape(a, b, options);
      const empty = emptyProduct(m, k, n);
      if (empty) return empty;
      activate(tfjsName);
      return readMat(
        tf.tidy(() => {
          const ta = options.transposeA ? tf.transpose(toTensor(a)) : toTensor(a);
          const tb = options.transposeB ? tf.transpose(toTensor(b)) : toTensor(b);
          return tf.matMul(ta, tb);
        }),
      );
    },
    async add(a: Mat, b: Mat): Promise<Mat> {
      assertSameShape(a, b, 'add');
      if (a.data.length === 0) return { rows: a.rows, cols: a.cols, data: new Float64Array(0) };
      activate(tfjsName);
      return readMat(tf.tidy(() => tf.add(toTensor(a), toTensor(b))));
    },
    async scale(a: Mat, factor: number): Promise<Mat> {
      if (a.data.length === 0) return { rows: a.rows, cols: a.cols, data: new Float64Array(0) };
      activate(tfjsName);
      return readMat(tf.tidy(() => tf.mul(toTensor(a), tf.scalar(factor, 'float32'))));
    },
    async axpy(alpha: number, x: Mat, y: Mat): Promise<Mat> {
      assertSameShape(x, y, 'axpy');
      if (x.data.length === 0) return { rows: x.rows, cols: x.cols, data: new Float64Array(0) };
      activate(tfjsName);
      return readMat(tf.tidy(() => tf.add(tf.mul(toTensor(x), tf.scalar(alpha, 'float32')), toTensor(y))));
    },
    async frobeniusNorm(a: Mat): Promise<number> {
      if (a.data.length === 0) return 0;
      activate(tfjsName);
      const [sum] = await readVector(tf.tidy(() => tf.reshape(tf.sum(tf.square(toTensor(a))), [1])));
      return Math.sqrt(sum!);
    },
    async columnNorms(a: Mat): Promise<Float64Array> {
      if (a.data.length === 0) return new Float64Array(a.cols);
      activate(tfjsName);
      return readVector(tf.tidy(() => tf.sqrt(tf.sum(tf.square(toTensor(a)), 0))));
    },
    async qrThin(a: Mat): Promise<QrResult> {
      // Tall-skinny panels (4096×74) are small: Householder in f64 beats tfjs's op-by-op QR.
      return qrThin(a);
    },
    upload(rows: number, cols: number, data: Float32Array | Float64Array): ResidentMatrix {
      assertDataLength(rows, cols, data.length, 'upload');
      // tfjs-wasm copies into its heap at once; cpu, webgpu and tensorflow may keep a reference to the
      // array they are given until first use, so they get a private copy (the caller may reuse its buffer).
      const f32 = data instanceof Float32Array ? (tfjsName === 'wasm' ? data : data.slice()) : new Float32Array(data);
      return new TfjsResidentMatrix(tfjsName, rows, cols, f32);
    },
    dispose(): void {},
  };
}

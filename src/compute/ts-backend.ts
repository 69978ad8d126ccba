// The pure-TypeScript f64 backend: slow (a few GFLOP/s) but exact to f64
// rounding, always available, and the oracle the tfjs backends are tested against.
import { WorkbenchError } from '../errors.ts';
import { qrThin } from '../linalg/qr.ts';
import { transpose } from '../tensor/matrix.ts';
import type { Mat } from '../tensor/matrix.ts';
import { TOOL_NAME, TOOL_VERSION } from '../version.ts';
import type { Backend, MatmulOptions, QrResult, ResidentMatrix } from './backend.ts';
import { tsGemm } from './ts-gemm.ts';
import { assertDataLength, assertOperandRows, assertSameShape, matmulShape } from './validate-shapes.ts';

class TsResidentMatrix implements ResidentMatrix {
  private matrix: Mat | undefined;
  private transposed: Mat | undefined;

  constructor(
    readonly rows: number,
    readonly cols: number,
    data: Float32Array | Float64Array,
  ) {
    this.matrix = { rows, cols, data: new Float64Array(data) };
  }

  private held(): Mat {
    if (this.matrix === undefined) {
      throw new WorkbenchError('INTERNAL', `resident ${this.rows}×${this.cols} matrix used after dispose()`);
    }
    return this.matrix;
  }

  async multiply(x: Mat): Promise<Mat> {
    assertOperandRows(this.cols, x, `product with resident ${this.rows}×${this.cols} matrix`);
    return tsGemm(this.held(), x);
  }

  async multiplyTransposed(y: Mat): Promise<Mat> {
    assertOperandRows(this.rows, y, `transposed product with resident ${this.rows}×${this.cols} matrix`);
    this.transposed ??= transpose(this.held());
    return tsGemm(this.transposed, y);
  }

  dispose(): void {
    this.matrix = undefined;
    this.transposed = undefined;
  }
}

export function createTsBackend(): Backend {
  return {
    name: 'ts',
    description: { name: 'ts', device: 'CPU (TypeScript, f64, 1 thread)', isGpu: false, version: `${TOOL_NAME}@${TOOL_VERSION}` },
    epsilon: 2 ** -53,
    async matmul(a: Mat, b: Mat, options: MatmulOptions = {}): Promise<Mat> {
      matmulShape(a, b, options);
      return tsGemm(a, b, !!options.transposeA, !!options.transposeB);
    },
    async add(a: Mat, b: Mat): Promise<Mat> {
      assertSameShape(a, b, 'add');
      const out = new Float64Array(a.data.length);
      for (let i = 0; i < out.length; i++) out[i] = a.data[i]! + b.data[i]!;
      return { rows: a.rows, cols: a.cols, data: out };
    },
    async scale(a: Mat, factor: number): Promise<Mat> {
      const out = new Float64Array(a.data.length);
      for (let i = 0; i < out.length; i++) out[i] = a.data[i]! * factor;
      return { rows: a.rows, cols: a.cols, data: out };
    },
    async axpy(alpha: number, x: Mat, y: Mat): Promise<Mat> {
      assertSameShape(x, y, 'axpy');
      const out = new Float64Array(x.data.length);
      for (let i = 0; i < out.length; i++) out[i] = alpha * x.data[i]! + y.data[i]!;
      return { rows: x.rows, cols: x.cols, data: out };
    },
    async frobeniusNorm(a: Mat): Promise<number> {
      let s = 0;
      for (let i = 0; i < a.data.length; i++) s += a.data[i]! * a.data[i]!;
      return Math.sqrt(s);
    },
    async columnNorms(a: Mat): Promise<Float64Array> {
      const sums = new Float64Array(a.cols);
      for (let i = 0; i < a.rows; i++) {
        const row = i * a.cols;
        for (let j = 0; j < a.cols; j++) sums[j]! += a.data[row + j]! * a.data[row + j]!;
      }
      return sums.map(Math.sqrt);
    },
    async qrThin(a: Mat): Promise<QrResult> {
      return qrThin(a);
    },
    upload(rows: number, cols: number, data: Float32Array | Float64Array): ResidentMatrix {
      assertDataLength(rows, cols, data.length, 'upload');
      return new TsResidentMatrix(rows, cols, data);
    },
    dispose(): void {},
  };
}

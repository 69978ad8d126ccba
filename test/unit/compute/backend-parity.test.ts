// The same suite on every backend this machine can load: ts (f64 oracle), wasm
// and cpu always; tensorflow and webgpu when present (skipped with the probe's reason otherwise).
// References are the plain f64 i-k-j product of src/tensor/matrix.ts, an independent code path.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/compute/backend.ts';
import { createDenseOperator } from '../../../src/compute/dense-operator.ts';
import { lowRankOperator } from '../../../src/compute/low-rank-operator.ts';
import { selectBackend } from '../../../src/compute/select-backend.ts';
import { sumOperator } from '../../../src/compute/sum-operator.ts';
import { matmul, transpose } from '../../../src/tensor/matrix.ts';
import type { Mat } from '../../../src/tensor/matrix.ts';
import { randomMat } from '../../helpers/random-mat.ts';

/** ‖x − ref‖_F / ‖ref‖_F. */
function relativeError(x: Mat, ref: Mat): number {
  expect([x.rows, x.cols]).toEqual([ref.rows, ref.cols]);
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.data.length; i++) {
    num += (x.data[i]! - ref.data[i]!) ** 2;
    den += ref.data[i]! ** 2;
  }
  return Math.sqrt(num / Math.max(den, Number.MIN_VALUE));
}

/**
 * Stated tolerance for a length-K reduction on a backend with unit roundoff eps: the
 * classical bound K·eps·‖|A||B|‖/‖AB‖, relaxed to √K·eps·32 for random data (errors add like a random walk)
 * with a floor so f64 is held to ~1e-13 and f32 to ~1e-5.
 */
function tolerance(backend: Backend, k: number): number {
  return 32 * Math.sqrt(k) * backend.epsilon + 8 * backend.epsilon;
}

const names = ['ts', 'wasm', 'cpu', 'tensorflow', 'webgpu'] as const;
const loaded = await Promise.all(
  names.map(async (name) => {
    try {
      const { backend } = await selectBackend({ backend: name, env: {} });
      return { name, backend, reason: '' };
    } catch (error) {
      return { name, backend: undefined, reason: (error as Error).message };
    }
  }),
);

for (const { name, backend, reason } of loaded) {
  if (backend === undefined) {
    console.log(`[compute parity] skipping backend "${name}": ${reason}`);
  }
  describe.skipIf(backend === undefined)(`backend ${name}`, () => {
    const b = backend!;

    it('multiplies the hand-checkable 2×2 example exactly', async () => {
      const a: Mat = { rows: 2, cols: 2, data: Float64Array.from([1, 2, 3, 4]) };
      const c: Mat = { rows: 2, cols: 2, data: Float64Array.from([5, 6, 7, 8]) };
      expect(Array.from((await b.matmul(a, c)).data)).toEqual([19, 22, 43, 50]);
      expect(Array.from((await b.matmul(a, c, { transposeA: true })).data)).toEqual([26, 30, 38, 44]);
    });

    it.each([
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ])('agrees with the f64 reference on a 37×29·29×13 product (transposeA=%s, transposeB=%s)', async (ta, tb) => {
      const A = randomMat(37, 29, 1);
      const B = randomMat(29, 13, 2);
      const opA = ta ? transpose(A) : A;
      const opB = tb ? transpose(B) : B;
      const got = await b.matmul(opA, opB, { transposeA: ta, transposeB: tb });
      expect(relativeError(got, matmul(A, B))).toBeLessThan(tolerance(b, 29));
    });

    it('rejects a product whose inner dimensions differ, naming both shapes', async () => {
      await expect(b.matmul(randomMat(3, 4, 1), randomMat(5, 2, 2))).rejects.toMatchObject({
        code: 'LINALG_SHAPE_MISMATCH',
        message: expect.stringContaining('3×4'),
      });
    });

    it('computes add, scale, axpy and norms within f32/f64 rounding', async () => {
      const x = randomMat(17, 9, 3);
      const y = randomMat(17, 9, 4);
      const tol = tolerance(b, 1);
      const sum = await b.add(x, y);
      const axpy = await b.axpy(-2.5, x, y);
      const scaled = await b.scale(x, 0.125);
      const refSum = x.data.map((v, i) => v + y.data[i]!);
      const refAxpy = x.data.map((v, i) => -2.5 * v + y.data[i]!);
      expect(relativeError(sum, { ...x, data: refSum })).toBeLessThan(tol);
      expect(relativeError(axpy, { ...x, data: refAxpy })).toBeLessThan(tol);
      expect(relativeError(scaled, { ...x, data: x.data.map((v) => v / 8) })).toBeLessThan(tol);
      // ‖[[3, 4], [0, 0]]‖_F = 5; column norms 3 and 4.
      const hand: Mat = { rows: 2, cols: 2, data: Float64Array.from([3, 4, 0, 0]) };
      expect(await b.frobeniusNorm(hand)).toBeCloseTo(5, 6);
      expect(Array.from(await b.columnNorms(hand))).toEqual([3, 4]);
      const refNorm = Math.sqrt(x.data.reduce((s, v) => s + v * v, 0));
      expect(Math.abs((await b.frobeniusNorm(x)) - refNorm) / refNorm).toBeLessThan(tolerance(b, x.data.length));
    });

    it('factors a tall matrix as Q·R with orthonormal Q and upper-triangular R', async () => {
      const A = randomMat(60, 7, 5);
      const { Q, R } = await b.qrThin(A);
      expect([Q.rows, Q.cols, R.rows, R.cols]).toEqual([60, 7, 7, 7]);
      expect(relativeError(matmul(Q, R), A)).toBeLessThan(1e-12);
      const gram = matmul(transpose(Q), Q);
      for (let i = 0; i < 7; i++) {
        for (let j = 0; j < 7; j++) {
          expect(Math.abs(gram.data[i * 7 + j]! - (i === j ? 1 : 0))).toBeLessThan(1e-12);
          if (i > j) expect(R.data[i * 7 + j]).toBe(0);
        }
      }
    });

    it('keeps a matrix resident and multiplies it, and its transpose, many times', async () => {
      const W = randomMat(40, 31, 6);
      const op = createDenseOperator(b, 40, 31, W.data);
      const WT = transpose(W);
      for (let round = 0; round < 3; round++) {
        const X = randomMat(31, 5, 10 + round);
        const Y = randomMat(40, 5, 20 + round);
        expect(relativeError(await op.apply(X), matmul(W, X))).toBeLessThan(tolerance(b, 31));
        expect(relativeError(await op.applyTranspose(Y), matmul(WT, Y))).toBeLessThan(tolerance(b, 40));
      }
      await expect(op.apply(randomMat(30, 5, 1))).rejects.toMatchObject({ code: 'LINALG_SHAPE_MISMATCH' });
      op.dispose();
      await expect(op.apply(randomMat(31, 5, 1))).rejects.toMatchObject({ code: 'INTERNAL' });
    });

    it('applies W0 + s·B·A without densifying, matching the dense sum', async () => {
      const m = 24;
      const n = 18;
      const r = 3;
      const W0 = randomMat(m, n, 7);
      const B = randomMat(m, r, 8);
      const A = randomMat(r, n, 9);
      const s = 0.75;
      const BA = matmul(B, A);
      const dense: Mat = { rows: m, cols: n, data: W0.data.map((v, i) => v + s * BA.data[i]!) };
      const op = sumOperator(createDenseOperator(b, m, n, W0.data), lowRankOperator(B, A, s));
      const X = randomMat(n, 4, 11);
      const Y = randomMat(m, 4, 12);
      expect(relativeError(await op.apply(X), matmul(dense, X))).toBeLessThan(tolerance(b, n));
      expect(relativeError(await op.applyTranspose(Y), matmul(transpose(dense), Y))).toBeLessThan(tolerance(b, m));
      op.dispose?.();
    });
  });
}

describe.each(loaded.filter((l) => l.backend !== undefined && l.name !== 'ts'))('resident upload on $name', ({ backend }) => {
  it('copies the caller’s f32 buffer, so reusing it does not change the resident matrix', async () => {
    const data = Float32Array.from([1, 2, 3, 4]);
    const resident = backend!.upload(2, 2, data);
    data.fill(100);
    const product = await resident.multiply({ rows: 2, cols: 1, data: Float64Array.from([1, 1]) });
    expect(Array.from(product.data)).toEqual([3, 7]);
    resident.dispose();
  });
});

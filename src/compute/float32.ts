// Conversions between the library's f64 Mat and the f32 buffers tfjs works on.
import type { Mat } from '../tensor/matrix.ts';

/** The f32 copy of a Mat's data (rounded to nearest). */
export function matToFloat32(m: Mat): Float32Array {
  return new Float32Array(m.data);
}

/** A Mat holding the f64 widening of an f32 (or f64) buffer. Copies. */
export function float32ToMat(rows: number, cols: number, data: Float32Array | Float64Array): Mat {
  return { rows, cols, data: new Float64Array(data) };
}

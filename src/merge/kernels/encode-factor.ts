// Output factors → safetensors bytes. F32 (the common case) goes through one typed-array
// conversion (Float32Array.set from Float64Array: ToFloat32, round-half-even, the same bits as
// DataView.setFloat32 but without a call per element — bench/merge: ~6× faster); other dtypes
// use the shared codec in src/dtype.ts.
import { floatTensor, type TensorToWrite } from '../../safetensors/writer.ts';
import type { FloatDType } from '../../dtype.ts';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function encodeFactor(name: string, dtype: FloatDType, shape: readonly number[], values: Float64Array): TensorToWrite {
  if (dtype !== 'F32' || !LITTLE_ENDIAN) return floatTensor(name, dtype, shape, values);
  const out = new Float32Array(values.length);
  out.set(values);
  return { name, dtype, shape, bytes: new Uint8Array(out.buffer) };
}

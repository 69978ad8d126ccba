// A rows×cols matrix of standard normal entries from the seeded workbench RNG, filled row-major.
import { createRng } from '../../src/util/rng.ts';
import { zeros } from '../../src/tensor/matrix.ts';
import type { Mat } from '../../src/tensor/matrix.ts';

export function randomMat(rows: number, cols: number, seed: number): Mat {
  const rng = createRng(seed);
  const out = zeros(rows, cols);
  for (let i = 0; i < out.data.length; i++) out.data[i] = rng.normal();
  return out;
}

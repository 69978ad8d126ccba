import { gramSpace } from '../../src/merge/kernels/gram-space.ts';
import { createRng } from '../../src/util/rng.ts';
const rng = createRng(1);
const m = 11008, n = 4096;
const mk = (r: number, c: number) => ({ rows: r, cols: c, data: new Float64Array(r * c).map(() => rng.normal()) });
const ins = [0, 1, 2, 3].map(() => ({ B: mk(m, 16), A: mk(16, n) }));
const Bm = { rows: m, cols: 64, data: new Float64Array(m * 64) };
for (let i = 0; i < m; i++) for (let t = 0; t < 4; t++) for (let j = 0; j < 16; j++) Bm.data[i * 64 + t * 16 + j] = 2 * ins[t]!.B.data[i * 16 + j]!;
const Am = { rows: 64, cols: n, data: new Float64Array(64 * n) };
ins.forEach((x, t) => Am.data.set(x.A.data, t * 16 * n));
for (let rep = 0; rep < 3; rep++) {
  const t0 = performance.now();
  const s = gramSpace([{ B: Bm, A: Am }, ...ins]);
  const e = s.norm([1, -2, -2, -2, -2]);
  const x = s.norm([0, 2, 2, 2, 2]);
  console.log(performance.now() - t0, e, x);
}

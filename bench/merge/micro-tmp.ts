import { lowRankSvd } from '../../src/linalg/low-rank-svd.ts';
import { householderInPlace, applyQInPlace } from '../../src/linalg/qr.ts';
import { gramOfRows } from '../../src/merge/kernels/gram-space.ts';
import { createRng } from '../../src/util/rng.ts';
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const rng = createRng(1);
const m = 11008, n = 4096, R = 64;
const B = { rows: m, cols: R, data: new Float64Array(m * R).map(() => rng.normal()) };
const A = { rows: R, cols: n, data: new Float64Array(R * n).map(() => rng.normal()) };
for (let rep = 0; rep < 4; rep++) {
  let t0 = cpu(); lowRankSvd([{ B, A, weight: 1 }], { vectors: () => 16 }); const tl = cpu() - t0;
  const cols = new Float64Array(m * R).map(() => rng.normal());
  t0 = cpu(); const qr = householderInPlace(m, R, cols); const th = cpu() - t0;
  const x = new Float64Array(m * 16); for (let j = 0; j < 16; j++) x[j * m + j] = 1;
  t0 = cpu(); applyQInPlace(qr, 16, x); const tq = cpu() - t0;
  t0 = cpu(); gramOfRows(cols, R, m); const tg = cpu() - t0;
  console.log({ tl, th, tq, tg });
}

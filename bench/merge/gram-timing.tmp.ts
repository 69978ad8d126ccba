import { gramOfRows } from '../../src/merge/kernels/gram-space.ts';
for (const [c, L] of [[64, 4096], [64, 11008], [80, 4096], [80, 11008]] as const) {
  const x = new Float64Array(c * L).map(() => Math.random());
  gramOfRows(x, c, L);
  const t0 = performance.now();
  for (let k = 0; k < 5; k++) gramOfRows(x, c, L);
  const ms = (performance.now() - t0) / 5;
  console.log(c, L, ms.toFixed(2), 'ms', ((L * c * c / 2) / ms / 1e6).toFixed(2), 'GFMA/s');
}

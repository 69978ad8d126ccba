import { svdSmall } from '../../src/linalg/svd-small.ts';
import { createRng } from '../../src/util/rng.ts';
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const rng = createRng(1);
for (const k of [16, 64, 128]) for (let rep = 0; rep < 3; rep++) {
  const K = { rows: k, cols: k, data: new Float64Array(k * k).map(() => rng.normal()) };
  const t0 = cpu(); svdSmall(K); console.log(k, (cpu() - t0).toFixed(1));
}

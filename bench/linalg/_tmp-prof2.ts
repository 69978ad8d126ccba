import { householderInPlace, applyQInPlace, extractR } from '../../src/linalg/qr.ts';
import { svdSmall } from '../../src/linalg/svd-small.ts';
import { lowRankSvd } from '../../src/linalg/low-rank-svd.ts';
import { createRng } from '../../src/util/rng.ts';
const rng = createRng(1);
const m = 4096, R = 128;
const cpu = (f: () => void) => { const a = process.cpuUsage(); f(); const b = process.cpuUsage(a); return ((b.user + b.system) / 1000).toFixed(0); };
for (let rep = 0; rep < 3; rep++) {
  const a = new Float64Array(m * R).map(() => rng.normal());
  let qr: any;
  const t1 = cpu(() => { qr = householderInPlace(m, R, a); });
  const x = new Float64Array(m * R).map(() => rng.normal());
  const t2 = cpu(() => applyQInPlace(qr, R, x));
  const K = { rows: R, cols: R, data: new Float64Array(R * R).map(() => rng.normal()) };
  const t3 = cpu(() => svdSmall(K));
  const terms = Array.from({ length: 8 }, () => ({ B: { rows: m, cols: 16, data: new Float64Array(m * 16).map(() => rng.normal()) }, A: { rows: 16, cols: m, data: new Float64Array(16 * m).map(() => rng.normal()) }, weight: 1 }));
  const t4 = cpu(() => lowRankSvd(terms));
  console.log('cpu ms: householder', t1, 'applyQ', t2, 'svd128', t3, 'lowRankSvd total', t4);
}

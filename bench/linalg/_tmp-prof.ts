import { householderInPlace, applyQInPlace } from '../../src/linalg/qr.ts';
import { svdSmall } from '../../src/linalg/svd-small.ts';
import { createRng } from '../../src/util/rng.ts';
const rng = createRng(1);
const m = 4096, R = 128;
for (let rep = 0; rep < 3; rep++) {
const a = new Float64Array(m * R).map(() => rng.normal());
let t = performance.now();
const qr = householderInPlace(m, R, a);
const t1 = performance.now() - t;
const x = new Float64Array(m * R); for (let j = 0; j < R; j++) x[j * m + j] = 1;
t = performance.now(); applyQInPlace(qr, R, x); const t2 = performance.now() - t;
const K = { rows: R, cols: R, data: new Float64Array(R * R).map(() => rng.normal()) };
t = performance.now(); svdSmall(K); const t3 = performance.now() - t;
console.log('hh', t1.toFixed(1), 'applyQ', t2.toFixed(1), 'svd128', t3.toFixed(1));
}

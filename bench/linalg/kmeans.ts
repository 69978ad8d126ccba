// Bench: k-means on MSU-sized vectors. ml-kmeans 7.0.1 (the design card's package) with its default
// kmeans++ init, with 'random' init, and seeded with our kmeans++ centroids, against our own Lloyd
// loop (src/linalg/kmeans.ts), all in the same run on the same data. Inertia shows equal quality.
//   node bin/run-ts.js bench/linalg/kmeans.ts
import { kmeans as mlKmeans } from 'ml-kmeans';
import { kmeans, kmeansInitialCentroids } from '../../src/linalg/kmeans.ts';
import { createRng } from '../../src/util/rng.ts';
import { toRows, zeros } from '../../src/tensor/matrix.ts';
import type { Mat } from '../../src/tensor/matrix.ts';
import { bestOf, machineLine } from './util.ts';

function blobs(points: number, dim: number, clusters: number, seed: number): Mat {
  const rng = createRng(seed);
  const centres = Array.from({ length: clusters }, () => Float64Array.from({ length: dim }, () => rng.normal()));
  const out = zeros(points, dim);
  for (let i = 0; i < points; i++) {
    const c = centres[i % clusters]!;
    for (let t = 0; t < dim; t++) out.data[i * dim + t] = c[t]! + 0.3 * rng.normal();
  }
  return out;
}

function inertiaOf(points: Mat, labels: ArrayLike<number>, centroids: readonly (readonly number[])[]): number {
  let s = 0;
  for (let i = 0; i < points.rows; i++) {
    const c = centroids[labels[i]!]!;
    for (let t = 0; t < points.cols; t++) {
      const d = points.data[i * points.cols + t]! - c[t]!;
      s += d * d;
    }
  }
  return s;
}

console.log(`# k-means bench, ${machineLine()}`);
console.log('| points × dim, k | ml-kmeans default (kmeans++) | ml-kmeans random init | ml-kmeans + our kmeans++ init | ours (kmeans++, f64 Lloyd) | ratio default / ours | number[][] conversion |');
console.log('|---|---|---|---|---|---|---|');
for (const [n, dim, k] of [
  [64, 8192, 8],
  [128, 16384, 16],
] as const) {
  const points = blobs(n, dim, k, n + dim);
  const conv = await bestOf(3, () => toRows(points));
  const rows = conv.result;
  const seed = 7;
  const mlDefault = await bestOf(3, () => mlKmeans(rows, k, { seed }));
  const mlRandom = await bestOf(3, () => mlKmeans(rows, k, { seed, initialization: 'random' }));
  const ours = await bestOf(3, () => kmeans(points, { k, seed }));
  const seeded = await bestOf(3, () => {
    const init = toRows(kmeansInitialCentroids(points, k, 'kmeans++', seed));
    return mlKmeans(rows, k, { seed, initialization: init });
  });
  const fmt = (r: { ms: number }, inertia: number) => `${r.ms.toFixed(1)} ms (inertia ${inertia.toFixed(0)})`;
  console.log(
    `| ${n} × ${dim}, k=${k} | ${fmt(mlDefault, inertiaOf(points, mlDefault.result.clusters, mlDefault.result.centroids))} | ${fmt(mlRandom, inertiaOf(points, mlRandom.result.clusters, mlRandom.result.centroids))} | ${fmt(seeded, inertiaOf(points, seeded.result.clusters, seeded.result.centroids))} | ${fmt(ours, ours.result.inertia)} | ${(mlDefault.ms / ours.ms).toFixed(1)}× | ${conv.ms.toFixed(1)} ms |`,
  );
}

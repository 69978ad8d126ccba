import { loadAdapter } from '../../src/adapter/load-adapter.ts';
import { gramSpace } from '../../src/merge/kernels/gram-space.ts';
import { weightedConcat } from '../../src/merge/methods/shared.ts';
import { floatTensor } from '../../src/safetensors/writer.ts';
import { createHash } from 'node:crypto';
const dir = process.argv[2]!;
const ads = [];
for (let t = 0; t < 4; t++) ads.push(await loadAdapter(`${dir}/in${t}`));
const T: Record<string, number> = {};
const tic = (k: string, t0: number) => { T[k] = (T[k] ?? 0) + performance.now() - t0; };
for (let rep = 0; rep < 2; rep++) for (let mi = 0; mi < ads[0]!.modules.length; mi++) {
  let t0 = performance.now();
  const fs = [];
  for (const a of ads) fs.push(await a.modules[mi]!.load());
  tic('load', t0); t0 = performance.now();
  for (const f of fs) createHash('sha256').update(new Uint8Array(f.A.data.buffer)).update(new Uint8Array(f.B.data.buffer)).digest('hex');
  tic('hash', t0); t0 = performance.now();
  const m = fs[0]!.B.rows, n = fs[0]!.A.cols;
  const inputs = fs.map((f, i) => ({ index: i, name: 'x', contentHash: '', weight: 1, scale: 2, rank: 16, B: f.B, A: f.A }));
  const r = weightedConcat(inputs, m, n);
  tic('concat', t0); t0 = performance.now();
  const sp = gramSpace([r, ...fs]);
  tic('gram', t0); t0 = performance.now();
  for (let k = 0; k < 15; k++) sp.norm([1, -2, -2, -2, -2]);
  tic('norms', t0); t0 = performance.now();
  floatTensor('a', 'F32', [r.A.rows, n], r.A.data); floatTensor('b', 'F32', [m, r.B.cols], r.B.data);
  tic('encode', t0);
}
console.log(T);

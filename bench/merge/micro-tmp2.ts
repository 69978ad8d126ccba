import { gramOfRows } from '../../src/merge/kernels/gram-space.ts';
function gram14(rows: Float64Array, c: number, L: number): Float64Array {
  const out = new Float64Array(c * c);
  for (let a = 0; a < c; a++) {
    const oa = a * L;
    let b = a;
    for (; b + 4 <= c; b += 4) {
      const o0 = b * L, o1 = o0 + L, o2 = o1 + L, o3 = o2 + L;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let i = 0; i < L; i++) { const x = rows[oa + i]!; s0 += x * rows[o0 + i]!; s1 += x * rows[o1 + i]!; s2 += x * rows[o2 + i]!; s3 += x * rows[o3 + i]!; }
      out[a * c + b] = s0; out[a * c + b + 1] = s1; out[a * c + b + 2] = s2; out[a * c + b + 3] = s3;
    }
    for (; b < c; b++) { let s = 0; for (let i = 0; i < L; i++) s += rows[oa + i]! * rows[b * L + i]!; out[a * c + b] = s; }
  }
  return out;
}
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const m = 11008, c = 128;
const rows = new Float64Array(c * m).map((_, i) => Math.sin(i));
for (let rep = 0; rep < 4; rep++) {
  let t0 = cpu(); gramOfRows(rows, c, m); const t1 = cpu() - t0;
  t0 = cpu(); gram14(rows, c, m); const t2 = cpu() - t0;
  console.log('2x4', t1.toFixed(1), '1x4', t2.toFixed(1));
}

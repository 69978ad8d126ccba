const m = 11008, r = 64, c = 64;
const src = new Float64Array(m * r).map((_, i) => Math.sin(i));
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
for (let rep = 0; rep < 4; rep++) {
  let out = new Float64Array(c * m);
  let t0 = cpu();
  for (let i0 = 0; i0 < m; i0 += 256) {
    const i1 = Math.min(m, i0 + 256);
    for (let j = 0; j < r; j++) { const o = j * m; for (let i = i0; i < i1; i++) out[o + i] = src[i * r + j]!; }
  }
  const t2 = cpu() - t0;
  out = new Float64Array(c * m); t0 = cpu();
  for (let i = 0; i < m; i++) { const row = i * r; for (let j = 0; j < r; j++) out[j * m + i] = src[row + j]!; }
  const t4 = cpu() - t0;
  out = new Float64Array(c * m); t0 = cpu();
  out.fill(0);
  const t5 = cpu() - t0;
  t0 = cpu();
  for (let i0 = 0; i0 < m; i0 += 256) {
    const i1 = Math.min(m, i0 + 256);
    for (let j = 0; j < r; j++) { const o = j * m; for (let i = i0; i < i1; i++) out[o + i] = src[i * r + j]!; }
  }
  const t6 = cpu() - t0;
  console.log({ blockedFresh: t2.toFixed(1), rowwiseFresh: t4.toFixed(1), fill: t5.toFixed(1), blockedTouched: t6.toFixed(1) });
}

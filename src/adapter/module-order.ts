// The one order of modules everywhere (loader, reports, exports): natural order, so that
// "layers.2" comes before "layers.10". Digit runs compare as numbers, the rest as strings.

const CHUNK = /(\d+)/;

export function compareModuleNames(a: string, b: string): number {
  if (a === b) return 0;
  const ca = a.split(CHUNK);
  const cb = b.split(CHUNK);
  const n = Math.min(ca.length, cb.length);
  for (let i = 0; i < n; i++) {
    const x = ca[i]!;
    const y = cb[i]!;
    if (x === y) continue;
    if (i % 2 === 1) {
      // Both are digit runs (split puts captures at odd indices).
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
      return x.length - y.length; // "01" after "1"
    }
    return x < y ? -1 : 1;
  }
  return ca.length - cb.length;
}

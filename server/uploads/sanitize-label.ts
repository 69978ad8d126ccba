// A client file name becomes a display label only: no path parts, no control
// characters, bounded length. It never becomes a path.
import { MAX_LABEL_CHARS } from '../limits.ts';

export function sanitizeLabel(raw: string | undefined, fallback: string): string {
  if (raw === undefined) return fallback;
  const base = raw.split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '').trim();
  const chars = [...clean];
  const cut = chars.length > MAX_LABEL_CHARS ? chars.slice(0, MAX_LABEL_CHARS).join('') : clean;
  return cut === '' || cut === '.' || cut === '..' ? fallback : cut;
}

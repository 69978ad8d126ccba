// The npm registry mirror reachable here lacks the non-linux-x64 prebuilt
// packages of msgpackr-extract (an optional dependency of bullmq's msgpackr),
// so `npm install` leaves them out of package-lock.json and `npm ci` then
// refuses the lock as out of sync. This adds the entries npm would write
// when the registry has them: optional, platform-gated, never fetched on a
// platform that does not match. Run after any change to the lock file.
import { readFileSync, writeFileSync } from 'node:fs';

const LOCK = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(LOCK, 'utf8'));
let added = 0;
for (const [path, entry] of Object.entries(lock.packages)) {
  const optional = entry.optionalDependencies ?? {};
  for (const [name, version] of Object.entries(optional)) {
    const key = `node_modules/${name}`;
    if (lock.packages[key] || lock.packages[`${path}/${key}`]) continue;
    const match = /-(darwin|linux|win32|freebsd)-(x64|arm64|arm|ia32)$/.exec(name);
    if (!match) continue;
    lock.packages[key] = { version, cpu: [match[2]], license: 'MIT', optional: true, os: [match[1]] };
    added++;
  }
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)));
writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} platform entries`);

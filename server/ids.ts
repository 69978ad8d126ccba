// Server-generated ids: ULID-shaped (48-bit time + 80 random bits, Crockford
// base32, 26 characters), so they sort by creation and validate by regex
// before they reach a query or a path.
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export function newId(now: number = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i += 1) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(16);
  let rand = '';
  for (let i = 0; i < 16; i += 1) rand += ALPHABET[(bytes[i] ?? 0) % 32];
  return time + rand;
}

export function isId(value: string): boolean {
  return ID_PATTERN.test(value);
}

import { randomBytes } from 'node:crypto';

let lastMs = -1;
let seq = 0;

/**
 * A unique, time-ordered run id: `20261125-171503-042-0000a1b2c3`. Ids made in one
 * millisecond by one process sort in creation order (the counter); other processes
 * are kept apart by three random bytes.
 */
export function newRunId(now = new Date()): string {
  const ms = now.getTime();
  seq = ms === lastMs ? seq + 1 : 0;
  lastMs = ms;
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const date = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}`;
  const time = `${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  return `${date}-${time}-${p(now.getUTCMilliseconds(), 3)}-${seq.toString(16).padStart(4, '0')}${randomBytes(3).toString('hex')}`;
}

import { randomBytes } from 'node:crypto';

/** A unique, time-ordered run id: `20261125-171503-042-9f3a` sorts by start time. */
export function newRunId(now = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const date = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}`;
  const time = `${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  return `${date}-${time}-${p(now.getUTCMilliseconds(), 3)}-${randomBytes(2).toString('hex')}`;
}

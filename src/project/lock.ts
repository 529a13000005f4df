import { open, readFile, rename, stat, unlink, utimes } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crashPoint } from '../util/crash.js';
import { HOST, isOwnerDead } from '../util/process-alive.js';
import { ensureDir } from '../util/storage-errors.js';

// A cross-process lock per cache key: a file created exclusively, holding its owner's
// PID and host. A lock is stale when its owner is a dead process on this host (found at
// once, e.g. after SIGKILL) or when its heartbeat stopped (other hosts, frozen owners).
// proper-lockfile only has the age test, which would make every crash cost a timeout.

export interface LockOwner {
  pid: number;
  host: string;
  acquired: string;
  purpose?: string;
}

export interface LockOptions {
  /** A lock whose file was not touched for this long is stale. */
  staleMs?: number;
  /** Called once when the lock is busy, with its owner. */
  onWait?: (owner: LockOwner | undefined) => void;
  signal?: AbortSignal;
  purpose?: string;
}

const DEFAULT_STALE_MS = 30_000;

export class HeldLock {
  private timer: NodeJS.Timeout | undefined;
  private released = false;

  constructor(
    readonly path: string,
    heartbeatMs: number,
  ) {
    this.timer = setInterval(() => {
      const now = new Date();
      utimes(this.path, now, now).catch(() => undefined);
    }, heartbeatMs);
    this.timer.unref();
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    await unlink(this.path).catch(() => undefined);
  }
}

export async function acquireLock(path: string, options: LockOptions = {}): Promise<HeldLock> {
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  // A read-only .paramflow says EROFS naming the folder (a recursive mkdir would say ENOENT).
  await ensureDir(dirname(path), 'taking a lock');
  let delay = 10;
  let told = false;
  for (;;) {
    options.signal?.throwIfAborted();
    if (await tryCreate(path, options.purpose)) {
      crashPoint('lock-acquired');
      return new HeldLock(path, Math.max(50, staleMs / 3));
    }
    const owner = await readOwner(path);
    if (await isStale(path, owner, staleMs)) {
      await breakLock(path, owner, staleMs);
      continue;
    }
    if (!told) {
      options.onWait?.(owner);
      told = true;
    }
    await pause(delay, options.signal);
    delay = Math.min(delay * 2, 250);
  }
}

async function tryCreate(path: string, purpose?: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(path, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  const owner: LockOwner = {
    pid: process.pid,
    host: HOST,
    acquired: new Date().toISOString(),
    ...(purpose ? { purpose } : {}),
  };
  await fh.writeFile(JSON.stringify(owner));
  await fh.close();
  return true;
}

export async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockOwner;
  } catch {
    // Missing, or caught between create and write: treat as busy with no known owner.
    return undefined;
  }
}

async function isStale(path: string, owner: LockOwner | undefined, staleMs: number): Promise<boolean> {
  if (owner && isOwnerDead(owner)) return true;
  try {
    const s = await stat(path);
    return Date.now() - s.mtimeMs > staleMs;
  } catch {
    return false; // gone: the next create attempt will tell
  }
}

/** Whether a live process holds the lock at `path`. */
export async function isLockLive(path: string, staleMs = DEFAULT_STALE_MS): Promise<boolean> {
  const owner = await readOwner(path);
  try {
    await stat(path);
  } catch {
    return false;
  }
  return !(await isStale(path, owner, staleMs));
}

// Breaking goes through a second, short-lived lock so that two processes that both
// saw the same stale lock cannot remove a fresh one the other just created.
async function breakLock(path: string, seen: LockOwner | undefined, staleMs: number): Promise<void> {
  const breaker = `${path}.break`;
  if (!(await tryCreate(breaker))) {
    const b = await readOwner(breaker);
    if (await isStale(breaker, b, staleMs)) await unlink(breaker).catch(() => undefined);
    return;
  }
  try {
    const now = await readOwner(path);
    const same = now?.pid === seen?.pid && now?.acquired === seen?.acquired;
    if (same && (await isStale(path, now, staleMs))) {
      const aside = `${path}.stale-${process.pid}`;
      await rename(path, aside).catch(() => undefined);
      await unlink(aside).catch(() => undefined);
    }
  } finally {
    await unlink(breaker).catch(() => undefined);
  }
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(t);
      reject(signal?.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

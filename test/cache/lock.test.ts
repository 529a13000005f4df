import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireLock, isLockLive, readOwner, type LockOwner } from '../../src/project/lock.js';
import { HOST } from '../../src/util/process-alive.js';
import { deadPid } from '../helpers/processes.js';

let dir: string;
let lockPath: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pf-lock-'));
  lockPath = join(dir, 'locks', 'k.lock');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function writeLock(path: string, owner: LockOwner): void {
  writeFileSync(path, JSON.stringify(owner));
}

const FOREIGN = `not-${HOST}`;
const owner = (o: Partial<LockOwner>): LockOwner => ({
  pid: 1,
  host: FOREIGN,
  acquired: '2020-01-01T00:00:00.000Z',
  ...o,
});

describe('acquireLock', () => {
  it('creates the lock file (and its folder) holding this process as owner; release deletes it', async () => {
    const held = await acquireLock(lockPath, { purpose: 'test' });
    expect(existsSync(lockPath)).toBe(true);
    const o = await readOwner(lockPath);
    expect(o).toMatchObject({ pid: process.pid, host: HOST, purpose: 'test' });
    expect(Number.isNaN(Date.parse(o!.acquired))).toBe(false);
    await held.release();
    expect(existsSync(lockPath)).toBe(false);
    await held.release(); // twice is harmless
  });

  it('can be taken again after release', async () => {
    await (await acquireLock(lockPath)).release();
    const again = await acquireLock(lockPath);
    expect((await readOwner(lockPath))?.pid).toBe(process.pid);
    await again.release();
  });

  it('makes a second acquirer wait until the first releases', async () => {
    const first = await acquireLock(lockPath);
    let told!: (o: LockOwner | undefined) => void;
    const waiting = new Promise<LockOwner | undefined>((resolve) => (told = resolve));
    let acquired = false;
    const second = acquireLock(lockPath, { onWait: (o) => told(o) });
    void second.then(() => (acquired = true));
    const waitingFor = await waiting;
    expect(waitingFor?.pid).toBe(process.pid);
    expect(acquired).toBe(false);
    await first.release();
    const secondLock = await second;
    expect(acquired).toBe(true);
    expect((await readOwner(lockPath))?.pid).toBe(process.pid);
    await secondLock.release();
    expect(existsSync(lockPath)).toBe(false);
  });

  it('takes over at once a lock whose owner on this host is dead, without waiting', async () => {
    const pid = await deadPid();
    await acquireLock(lockPath).then((l) => l.release()); // creates the folder
    writeLock(lockPath, owner({ pid, host: HOST, acquired: new Date().toISOString() }));
    let waited = false;
    const held = await acquireLock(lockPath, { onWait: () => (waited = true) });
    expect(waited).toBe(false);
    expect((await readOwner(lockPath))?.pid).toBe(process.pid);
    await held.release();
    expect(existsSync(`${lockPath}.break`)).toBe(false);
  });

  it('is not blocked by a breaker file left by a dead process', async () => {
    const pid = await deadPid();
    await acquireLock(lockPath).then((l) => l.release());
    writeLock(lockPath, owner({ pid, host: HOST }));
    writeLock(`${lockPath}.break`, owner({ pid, host: HOST }));
    const held = await acquireLock(lockPath);
    expect((await readOwner(lockPath))?.pid).toBe(process.pid);
    expect(existsSync(`${lockPath}.break`)).toBe(false);
    await held.release();
  });

  it('takes over a lock from another host whose heartbeat stopped (old mtime)', async () => {
    await acquireLock(lockPath).then((l) => l.release());
    writeLock(lockPath, owner({ pid: process.pid }));
    const old = new Date(Date.now() - 10 * 60_000);
    utimesSync(lockPath, old, old);
    const held = await acquireLock(lockPath, { staleMs: 60_000 });
    expect(await readOwner(lockPath)).toMatchObject({ pid: process.pid, host: HOST });
    await held.release();
  });

  it('waits on a fresh lock from another host until aborted, and leaves it in place', async () => {
    await acquireLock(lockPath).then((l) => l.release());
    const foreign = owner({ pid: 4242 });
    writeLock(lockPath, foreign);
    const ac = new AbortController();
    const attempt = acquireLock(lockPath, {
      staleMs: 60_000,
      signal: ac.signal,
      onWait: () => ac.abort(new Error('gave up')),
    });
    await expect(attempt).rejects.toThrow('gave up');
    expect(JSON.parse(readFileSync(lockPath, 'utf8'))).toEqual(foreign);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(acquireLock(lockPath, { signal: ac.signal })).rejects.toThrow('stop');
    expect(existsSync(lockPath)).toBe(false);
  });

  it('keeps a held lock fresh with a heartbeat', async () => {
    const held = await acquireLock(lockPath, { staleMs: 150 });
    const old = new Date(Date.now() - 60_000);
    utimesSync(lockPath, old, old);
    // The heartbeat touches the file every max(50, staleMs/3) ms: wait for the touch
    // itself (polling the mtime), not for a fixed time.
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        const { mtimeMs } = statSync(lockPath);
        if (mtimeMs > old.getTime() + 30_000) {
          clearInterval(check);
          resolve();
        }
      }, 10);
    });
    expect(await isLockLive(lockPath, 150)).toBe(true);
    await held.release();
  });
});

describe('isLockLive', () => {
  it('is false when there is no lock file', async () => {
    expect(await isLockLive(lockPath)).toBe(false);
  });

  it('is true while this process holds the lock, false after release', async () => {
    const held = await acquireLock(lockPath);
    expect(await isLockLive(lockPath)).toBe(true);
    await held.release();
    expect(await isLockLive(lockPath)).toBe(false);
  });

  it('is false for a dead owner on this host, even with a fresh mtime', async () => {
    const pid = await deadPid();
    await acquireLock(lockPath).then((l) => l.release());
    writeLock(lockPath, owner({ pid, host: HOST }));
    expect(await isLockLive(lockPath)).toBe(false);
  });

  it('goes by the heartbeat for another host: fresh is live, old is not', async () => {
    await acquireLock(lockPath).then((l) => l.release());
    writeLock(lockPath, owner({ pid: 4242 }));
    expect(await isLockLive(lockPath, 60_000)).toBe(true);
    const old = new Date(Date.now() - 10 * 60_000);
    utimesSync(lockPath, old, old);
    expect(await isLockLive(lockPath, 60_000)).toBe(false);
  });

  it('treats an unreadable (half-written) lock file with a fresh mtime as live', async () => {
    await acquireLock(lockPath).then((l) => l.release());
    writeFileSync(lockPath, '');
    expect(await isLockLive(lockPath)).toBe(true);
  });
});

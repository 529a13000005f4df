import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis, type RedisOptions } from 'ioredis';
import { HOST } from '../../util/process-alive.js';
import type { SharedKeyHold, SharedKeyLock } from '../../runner/shared-lock.js';
import { connection, type QueueSettings } from './settings.js';

// Cache-key locks in the queue's Redis, for workers on different machines (see
// src/runner/shared-lock.ts). The usual single-instance Redis lock: SET NX PX with a random
// token as a lease, renewed by a heartbeat while held, released by a compare-and-delete
// script, so a holder that dies (SIGKILL, a machine lost) frees the key when its lease runs
// out and a holder whose lease ran out cannot delete its successor's lock.
// Why not `redlock`: its stable 4.2.0 dates from 2020 and 5.0 has been a beta since 2022;
// its multi-server algorithm is more than one Redis needs, and the three scripts are short.
// A lease lost anyway (a holder frozen past it) costs a duplicate computation, never a
// wrong entry: entries are content-addressed and committed atomically on each side.

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export interface RedisKeyLockOptions {
  /** How long a lease lasts without a heartbeat (renewed every third of it). Default 30 s. */
  leaseMs?: number;
  /** Named in the lock, for whoever waits: default `<host>:<pid>`. */
  holder?: string;
}

/** What a lock's value holds: the token proves ownership, the rest is for messages. */
interface LockValue {
  token: string;
  holder: string;
  purpose?: string;
}

export class RedisKeyLock implements SharedKeyLock {
  readonly where: string;
  private readonly redis: Redis;
  private readonly leaseMs: number;
  private readonly holder: string;

  constructor(
    private readonly settings: QueueSettings,
    o: RedisKeyLockOptions = {},
  ) {
    this.where = `${new URL(settings.redis).host} queue ${settings.queue}`;
    // A few retries, not BullMQ's endless ones: a lock that cannot be had is reported, not waited for forever.
    this.redis = new Redis({ ...(connection(settings) as RedisOptions), maxRetriesPerRequest: 2 });
    this.redis.on('error', () => undefined); // each command reports its own failure
    this.leaseMs = Math.max(300, o.leaseMs ?? 30_000);
    this.holder = o.holder ?? `${HOST}:${process.pid}`;
  }

  /** The Redis key of a cache key's lock; under the queue's name, as two queues may share a server. */
  keyOf(key: string): string {
    return `paramflow:${this.settings.queue}:key-lock:${key}`;
  }

  async acquire(
    key: string,
    o: { signal?: AbortSignal; purpose?: string; onWait?: (holder: string) => void } = {},
  ): Promise<SharedKeyHold> {
    const k = this.keyOf(key);
    const value = JSON.stringify({
      token: randomUUID(),
      holder: this.holder,
      ...(o.purpose ? { purpose: o.purpose } : {}),
    } satisfies LockValue);
    let pause = 10;
    let told = false;
    for (;;) {
      o.signal?.throwIfAborted();
      if ((await this.redis.set(k, value, 'PX', this.leaseMs, 'NX')) === 'OK') return this.held(k, value);
      if (!told) {
        const now = await this.redis.get(k);
        if (now !== null) {
          o.onWait?.(holderOf(now));
          told = true;
        }
      }
      await delay(pause, undefined, o.signal ? { signal: o.signal } : {}).catch(() => o.signal?.throwIfAborted());
      pause = Math.min(pause * 2, 250);
    }
  }

  /** Ends the connection; leases still held run out by themselves. */
  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private held(k: string, value: string): SharedKeyHold {
    const timer = setInterval(
      () => {
        this.redis.eval(RENEW, 1, k, value, this.leaseMs).catch(() => undefined);
      },
      Math.floor(this.leaseMs / 3),
    );
    timer.unref();
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(timer);
        await this.redis.eval(RELEASE, 1, k, value);
      },
    };
  }
}

function holderOf(raw: string): string {
  try {
    const v = JSON.parse(raw) as Partial<LockValue>;
    return typeof v.holder === 'string' ? v.holder : 'another worker';
  } catch {
    return 'another worker';
  }
}

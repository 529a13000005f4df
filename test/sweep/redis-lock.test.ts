import { execa } from 'execa';
import { Redis } from 'ioredis';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisKeyLock } from '../../src/sweep/queue/redis-lock.js';
import { REPO } from '../helpers/project.js';
import { hasRedis, startRedis, type RedisServer } from '../helpers/redis.js';

// The cache-key lock queue workers share, against a real redis-server: exclusive while
// held, its lease renewed by the holder's heartbeat and running out when the holder dies,
// released only by its holder.

describe.skipIf(!hasRedis)('RedisKeyLock (a real redis-server)', () => {
  let redis: RedisServer;
  let client: Redis;
  const locks: RedisKeyLock[] = [];
  const lock = (queue: string, holder: string, leaseMs = 30_000) => {
    const l = new RedisKeyLock({ redis: redis.url, queue }, { holder, leaseMs });
    locks.push(l);
    return l;
  };
  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
  }, 30_000);
  afterAll(async () => {
    for (const l of locks) await l.close();
    client?.disconnect();
    await redis?.stop();
  });

  it('holders contending for one key take turns: never two inside, each waiter told who holds it', async () => {
    const holders = ['a:1', 'b:2', 'c:3'].map((h) => ({ name: h, lock: lock('turns', h) }));
    let inside = 0;
    let entries = 0;
    const waitedFor = new Set<string>();
    await Promise.all(
      holders.map(async ({ name, lock: l }) => {
        for (let round = 0; round < 4; round++) {
          const hold = await l.acquire('k', { onWait: (who) => waitedFor.add(who) });
          inside++;
          entries++;
          expect(inside).toBe(1);
          const value = JSON.parse((await client.get(l.keyOf('k')))!) as { holder: string };
          expect(value.holder).toBe(name);
          await client.ping(); // let the others try while this one holds it
          inside--;
          await hold.release();
        }
      }),
    );
    expect(entries).toBe(12);
    expect(waitedFor.size).toBeGreaterThan(0);
    for (const w of waitedFor) expect(['a:1', 'b:2', 'c:3']).toContain(w);
    expect(await client.exists(holders[0]!.lock.keyOf('k'))).toBe(0);
  });

  it('two queues on one server lock the same cache key independently', async () => {
    const h1 = await lock('q1', 'a:1').acquire('k');
    const h2 = await lock('q2', 'b:2').acquire('k');
    await h1.release();
    await h2.release();
  });

  it('a live holder keeps its lease past its length; a SIGKILLed one loses it when the lease runs out', async () => {
    const leaseMs = 600;
    const module = join(REPO, 'dist', 'src', 'sweep', 'queue', 'redis-lock.js');
    const script = `const { RedisKeyLock } = await import(${JSON.stringify(module)});
      const l = new RedisKeyLock({ redis: ${JSON.stringify(redis.url)}, queue: 'lease' }, { holder: 'child:' + process.pid, leaseMs: ${leaseMs} });
      await l.acquire('k');
      process.stdout.write('held\\n');
      setInterval(() => {}, 1000);`;
    const child = execa('node', ['--input-type=module', '-e', script], {
      reject: false,
      buffer: false,
      stdout: 'pipe',
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      void child.then((r) => reject(new Error(`holder exited: ${String(r.stderr)}`)));
    });
    const waiter = lock('lease', 'w:9', leaseMs);
    const key = waiter.keyOf('k');
    // Renewed at least four times at a third of the lease: longer than one lease has passed.
    let renewals = 0;
    let last = await client.pttl(key);
    while (renewals < 4) {
      const ttl = await client.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      if (ttl > last) renewals++;
      last = ttl;
      await delay(20);
    }
    expect(JSON.parse((await client.get(key))!).holder).toBe(`child:${child.pid}`);

    let told: string | undefined;
    const acquired = waiter.acquire('k', { onWait: (who) => (told = who) });
    child.kill('SIGKILL');
    await child;
    const hold = await acquired;
    expect(told).toBe(`child:${child.pid}`);
    expect(JSON.parse((await client.get(key))!).holder).toBe('w:9');
    await hold.release();
  }, 30_000);

  it('a holder whose lease ran out cannot release (or renew) the lock its successor took', async () => {
    const first = lock('owner', 'a:1', 900);
    const second = lock('owner', 'b:2', 900);
    const old = await first.acquire('k');
    await client.del(first.keyOf('k')); // as if the lease had run out while the holder was frozen
    const now = await second.acquire('k');
    await old.release();
    expect(JSON.parse((await client.get(second.keyOf('k')))!).holder).toBe('b:2');
    await now.release();
    expect(await client.exists(second.keyOf('k'))).toBe(0);
  });

  it('an aborted wait rejects with the reason and leaves the holder alone', async () => {
    const hold = await lock('abort', 'a:1').acquire('k');
    const ac = new AbortController();
    const waiting = lock('abort', 'b:2').acquire('k', { signal: ac.signal, onWait: () => ac.abort(new Error('stop')) });
    await expect(waiting).rejects.toThrow('stop');
    expect(JSON.parse((await client.get(lock('abort', 'x').keyOf('k')))!).holder).toBe('a:1');
    await hold.release();
  });
});

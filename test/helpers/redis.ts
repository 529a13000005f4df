import { execa, type ResultPromise } from 'execa';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

export const REDIS_SERVER = '/usr/bin/redis-server';
export const hasRedis = existsSync(REDIS_SERVER);

export interface RedisServer {
  url: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** One PING; true when the server answers PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    s.once('error', () => resolve(false));
    s.connect(port, '127.0.0.1', () => s.write('PING\r\n'));
    s.once('data', (d) => {
      s.destroy();
      resolve(String(d).startsWith('+PONG'));
    });
  });
}

/**
 * A throwaway redis-server on a free loopback port, nothing persisted; ready when it answers PING.
 * `alsoBind` adds addresses it listens on besides 127.0.0.1 (the root side of network-namespace links).
 */
export async function startRedis(alsoBind: string[] = []): Promise<RedisServer & { port: number }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'pf-redis-'));
  // Protected mode refuses every client not on loopback when there is no password; the extra
  // addresses are private test links, so it is switched off for them.
  const open = alsoBind.length ? ['--protected-mode', 'no'] : [];
  const proc: ResultPromise = execa(
    REDIS_SERVER,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      ...alsoBind,
      ...open,
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    { reject: false, stdout: 'ignore', stderr: 'ignore' },
  );
  let exited = false;
  void proc.then(() => (exited = true));
  while (!(await ping(port))) {
    if (exited) throw new Error(`redis-server exited before accepting connections on port ${port}`);
    await new Promise((r) => setImmediate(r));
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      proc.kill('SIGKILL');
      await proc;
    },
  };
}

/** A redis-server for the enclosing describe block: started before its tests, stopped after. `url()` once started. */
export function useRedis(): { url: () => string } {
  let redis: RedisServer | undefined;
  beforeAll(async () => {
    redis = await startRedis();
  }, 30_000);
  afterAll(async () => {
    await redis?.stop();
  });
  return { url: () => redis!.url };
}

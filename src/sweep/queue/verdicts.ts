import { Redis, type RedisOptions } from 'ioredis';
import type { RungReport, Verdict } from '../../runner/pruning.js';
import { connection, type QueueSettings } from './settings.js';

// Pruning through the queue: a worker's trial reports a rung as a job progress event
// (QueueJobProgress.rung), the sweep decides and pushes the verdict onto a Redis list the
// worker waits on with BLPOP. The list outlives neither the answer nor an hour.

const TTL_SECONDS = 3600;
/** A trial waits this long for its sweep at a rung, then goes on (a sweep gone never stops it). */
const WAIT_SECONDS = 600;

export function verdictKey(queue: string, jobId: string, id: number): string {
  return `paramflow:${queue}:verdict:${jobId}:${id}`;
}

/** The sweep's side: one connection that answers every worker. */
export class VerdictSender {
  private readonly redis: Redis;

  constructor(private readonly settings: QueueSettings) {
    this.redis = new Redis({ ...(connection(settings) as RedisOptions), lazyConnect: true });
  }

  async send(jobId: string, id: number, verdict: Verdict): Promise<void> {
    const key = verdictKey(this.settings.queue, jobId, id);
    await this.redis.multi().rpush(key, JSON.stringify(verdict)).expire(key, TTL_SECONDS).exec();
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

/**
 * The worker's side: `ask` reports through `report` (the job's progress) and blocks on the
 * verdict's list; its own connection, as BLPOP holds it.
 */
export function verdictAsker(
  settings: QueueSettings,
  jobId: string,
  report: (id: number, r: RungReport) => Promise<void>,
): { ask: (r: RungReport) => Promise<Verdict>; close: () => void } {
  let redis: Redis | undefined;
  let asked = 0;
  return {
    async ask(r) {
      const id = ++asked;
      redis ??= new Redis(connection(settings) as RedisOptions);
      await report(id, r);
      const got = await redis.blpop(verdictKey(settings.queue, jobId, id), WAIT_SECONDS);
      return got ? (JSON.parse(got[1]) as Verdict) : { prune: false };
    },
    close: () => redis?.disconnect(),
  };
}

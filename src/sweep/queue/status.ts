import { Queue } from 'bullmq';
import { connection, type QueueSettings } from './settings.js';

export interface QueueStatus {
  queue: string;
  redis: string;
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
  workers: { name: string; addr?: string; age?: number }[];
}

/** `paramflow queue status`: the job counts and the workers connected now. */
export async function queueStatus(s: QueueSettings): Promise<QueueStatus> {
  const queue = new Queue(s.queue, {
    connection: { ...connection(s), maxRetriesPerRequest: 1, retryStrategy: () => null, enableOfflineQueue: false },
  });
  queue.on('error', () => undefined);
  try {
    const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
    const workers = (await queue.getWorkers()).map((w) => ({
      name: String(w.name ?? ''),
      ...(w.addr ? { addr: String(w.addr) } : {}),
      ...(w.age ? { age: Number(w.age) } : {}),
    }));
    return {
      queue: s.queue,
      redis: s.redis,
      waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
      active: c.active ?? 0,
      delayed: c.delayed ?? 0,
      completed: c.completed ?? 0,
      failed: c.failed ?? 0,
      workers,
    };
  } finally {
    await queue.close();
  }
}

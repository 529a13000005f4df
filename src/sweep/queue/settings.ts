import type { RungReport } from '../../runner/pruning.js';
import type { ConnectionOptions } from 'bullmq';
import { ParamflowError } from '../../util/errors.js';
import type { RunRecord } from '../../tracking/run-record.js';
import type { TrialOutcome, TrialTask } from '../trial-executor.js';

/**
 * What the submitter (`run --executor queue`), the workers (`paramflow worker`) and
 * `queue status` agree on: the Redis server and the queue's name. Workers run in their own
 * checkout of the project on their own machine, so the name cannot come from a path:
 * it is `PARAMFLOW_QUEUE` (or `--queue`), `paramflow` by default.
 */
export interface QueueSettings {
  redis: string;
  queue: string;
}

export function queueSettings(
  flags: { redis?: string; queue?: string } = {},
  env: NodeJS.ProcessEnv = process.env,
): QueueSettings {
  const redis = flags.redis ?? env.PARAMFLOW_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const queue = flags.queue ?? env.PARAMFLOW_QUEUE ?? 'paramflow';
  let url: URL;
  try {
    url = new URL(redis);
  } catch {
    url = new URL('invalid:');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ParamflowError('PF_BAD_FLAG', `not a Redis URL: ${redis}`, {
      location: { file: flags.redis ? '--redis' : 'PARAMFLOW_REDIS_URL' },
      hint: 'use redis://host:port (or rediss:// for TLS)',
    });
  }
  // BullMQ uses ':' to build its own key names.
  if (!/^[A-Za-z0-9_.-]+$/.test(queue)) {
    throw new ParamflowError('PF_BAD_FLAG', `bad queue name: ${JSON.stringify(queue)}`, {
      location: { file: flags.queue ? '--queue' : 'PARAMFLOW_QUEUE' },
      hint: 'letters, digits, _ . - only',
    });
  }
  return { redis, queue };
}

/** ioredis options from the URL; BullMQ workers need maxRetriesPerRequest null. */
export function connection(s: QueueSettings): ConnectionOptions {
  const u = new URL(s.redis);
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 6379),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

/** A job's data: the trial, with its pipeline file relative to the project root (each worker has its own checkout). */
export interface QueueJobData {
  task: Omit<TrialTask, 'file' | 'cwd'>;
  file: string;
}

/** A job's return value: the outcome and the worker's run record, copied into the submitter's run store. */
export interface QueueJobResult {
  outcome: TrialOutcome;
  record?: RunRecord;
  worker: string;
}

/** A job's progress events: the worker that took it (sent when it starts) and, for a plain run, each line its run prints. */
export interface QueueJobProgress {
  worker: string;
  line?: string;
  /** A pruned sweep's trial at a rung, waiting for the verdict (verdicts.ts). */
  rung?: { id: number; report: RungReport };
}

export function isJobProgress(v: unknown): v is QueueJobProgress {
  return typeof v === 'object' && v !== null && typeof (v as QueueJobProgress).worker === 'string';
}

import type { Layout } from '../../project/layout.js';
import type { MlflowClient } from './client.js';
import type { SpooledOp } from './ops.js';
import { SpoolQueue, type FinishResult } from './queue.js';
import type { Clock, RetryPolicy } from './retry.js';
import type { ParentResolver } from './sender.js';
import { queueTarget, type TrackedTarget } from './spool.js';

// What a run's tracker (tracker.ts) and a sweep's (sweep.ts) are both given.

export interface BaseTrackerOptions {
  layout: Layout;
  /** `mlflow.user`; default the OS user. */
  user?: string;
  /** How long `finish` waits for the queue to drain. Default 15 s. */
  flushTimeoutMs?: number;
  /** Per request. Default 30 s. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  clock?: Clock;
  /** One line per notable event (server unreachable, back, an op refused). */
  log?: (line: string) => void;
  /** Tests: a ready client. */
  client?: MlflowClient;
  /** Tests: see SenderOptions.afterSend. */
  afterSend?: (op: SpooledOp) => void | Promise<void>;
}

/**
 * The spool queue of what a tracker logs (a run, a sweep's parent run): the target's spool,
 * lock and identity tag, and the tracker's settings. Both trackers open theirs here.
 */
export function openQueue(
  client: MlflowClient,
  o: BaseTrackerOptions,
  target: TrackedTarget,
  resolveParent?: ParentResolver,
): SpoolQueue {
  return new SpoolQueue({
    client,
    layout: o.layout,
    ...queueTarget(o.layout, target),
    purpose: `${target.id} mlflow`,
    flushTimeoutMs: o.flushTimeoutMs,
    retry: o.retry,
    log: o.log,
    afterSend: o.afterSend,
    ...(resolveParent ? { resolveParent } : {}),
  });
}

/** What `finish` answers when `start` never ran (no record to log). */
export const NOT_STARTED: FinishResult = {
  synced: false,
  pending: 0,
  rejected: 0,
  message: 'MLflow tracking was not started',
};

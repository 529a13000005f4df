import type { Layout } from '../../project/layout.js';
import type { MlflowClient } from './client.js';
import type { SpooledOp } from './ops.js';
import type { Clock, RetryPolicy } from './retry.js';

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

/** The options the spool queue takes from a tracker's. */
export function queueSettings(
  o: BaseTrackerOptions,
): Pick<BaseTrackerOptions, 'flushTimeoutMs' | 'retry' | 'log' | 'afterSend'> {
  return { flushTimeoutMs: o.flushTimeoutMs, retry: o.retry, log: o.log, afterSend: o.afterSend };
}

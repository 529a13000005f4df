import type { StageProfile } from '../backend/profile.js';
import type { RemoteCache } from '../cache/remote/remote.js';
import type { CacheStore } from '../cache/store.js';
import type { PreviousStage } from './status.js';
import type { Plan } from '../pipeline/plan.js';
import type { Layout } from '../project/layout.js';
import type { RunTracker } from '../tracking/run-tracker.js';
import type { RunRecord } from '../tracking/run-record.js';
import type { RunStore } from '../tracking/run-store.js';
import type { Executor } from './executor.js';
import type { Reporter } from './reporter.js';
import type { SharedKeyLock } from './shared-lock.js';

/** What executing a plan's stages needs: the run, where things are stored, how to report. */
export interface ExecuteContext {
  plan: Plan;
  record: RunRecord;
  cache: CacheStore;
  store: RunStore;
  layout: Layout;
  executor: Executor;
  reporter: Reporter;
  noCache: boolean;
  jobs: number;
  signal: AbortSignal;
  previous: Map<string, PreviousStage>;
  tracker?: RunTracker;
  /** `--profile`: each executed stage's time and kernel times are appended here. */
  profile?: StageProfile[];
  /** The cache other machines share (`cache.remote`), if any. */
  remote?: RemoteCache;
  /** Under a queue worker with a remote cache: the cache keys' locks across machines. */
  shared?: SharedKeyLock;
  /** A sweep's pruner watching training (pruning.ts): resolves once the sweep lets the epoch's fold go on. */
  watchRung?: (stage: string, fold: number, epoch: number, valLoss: number | undefined) => Promise<void>;
}

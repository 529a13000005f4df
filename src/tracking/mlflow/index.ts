// The MLflow tracking API the runner and the CLI use (see tracker.ts and sync.ts).
export { MlflowTracker, type FinishResult, type TrackerOptions } from './tracker.js';
export { SweepTracker, PARENT_ENV, sweepLinkFromEnv, type SweepLink, type SweepTrackerOptions } from './sweep.js';
export { trialNamer, sweepRunName } from './sweep-mapping.js';
export {
  syncTarget,
  syncAll,
  mlflowState,
  type SyncOptions,
  type SyncRunResult,
  type MlflowRunState,
  type SyncStateName,
} from './sync.js';
export { mlflowKeyProblems, checkKey, experimentNameProblem } from './limits.js';
export { pipelineParamKeys, defaultRunName } from './mapping.js';
export { listRefused, refusedText, type RefusedOps } from './refused.js';
export { trackingUriProblem, parseTrackingUri, redactUri, TRACKING_URI_HINT } from './uri.js';
export { MlflowClient } from './client.js';
export type { TrackedTarget } from './spool.js';
export { MlflowError, isMlflowError } from './errors.js';

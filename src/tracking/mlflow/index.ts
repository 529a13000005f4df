// The MLflow tracking API the runner and the CLI use (see tracker.ts and sync.ts).
export { MlflowTracker, type FinishResult, type TrackerOptions } from './tracker.js';
export { syncRun, syncAll, mlflowState, type SyncOptions, type SyncRunResult, type MlflowRunState, type SyncStateName } from './sync.js';
export { mlflowKeyProblems, checkKey, experimentNameProblem } from './limits.js';
export { pipelineParamKeys, defaultRunName } from './mapping.js';
export { trackingUriProblem, parseTrackingUri, redactUri, TRACKING_URI_HINT } from './uri.js';
export { MlflowClient } from './client.js';
export { MlflowError, isMlflowError } from './errors.js';

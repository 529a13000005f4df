import { Layout } from '../cache/layout.js';
import type { PipelineSpec } from '../config/spec.js';
import { SweepTracker } from '../tracking/mlflow/index.js';
import type { SweepRecord, TrialRecord } from './record.js';

// The sweep's MLflow parent run, as runSweep uses it (see src/tracking/mlflow/sweep.ts):
// started before the first worker, each worker told how to nest its run under it, and
// finished with the best trial once the sweep's record is final.
export interface SweepMlflow {
  /** Extra environment for a trial replicate's worker (its run name, and the sweep to nest under). */
  env(trial: TrialRecord, replicate: number): Record<string, string>;
  /** The best trial's values and objective, the status; waits a bounded time, never throws. */
  finish(record: SweepRecord): Promise<void>;
}

/** Undefined when the pipeline has no tracking URI (MLFLOW_TRACKING_URI, else `tracking.uri`). */
export async function startSweepMlflow(base: PipelineSpec, record: SweepRecord, log: (line: string) => void, env: Readonly<Record<string, string | undefined>> = process.env): Promise<SweepMlflow | undefined> {
  const tracker = SweepTracker.fromEnv(env, base.tracking.uri, { layout: new Layout(base.root), log });
  if (!tracker) return undefined;
  await tracker.start(record, base.resolved);
  return {
    env: (trial, replicate) => tracker.workerEnv(trial, replicate),
    finish: async (final) => {
      const r = await tracker.finish(final);
      log(`sweep ${final.sweepId}: ${r.message}`);
    },
  };
}

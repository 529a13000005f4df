import { Layout } from '../project/layout.js';
import type { PipelineSpec } from '../config/spec.js';
import { writeObjectiveFigures } from './objective-figures.js';
import { mlflowState, SweepTracker } from '../tracking/mlflow/index.js';
import { sweepDir } from '../tracking/mlflow/spool.js';
import { trackingEnvElsewhere } from '../tracking/mlflow/uri.js';
import type { SweepRecord, TrialRecord } from '../tracking/sweep-record.js';

// The sweep's MLflow parent run, as runSweep uses it (see src/tracking/mlflow/sweep.ts):
// started before the first worker, each worker told how to nest its run under it, and
// finished with the best trial once the sweep's record is final.
export interface SweepMlflow {
  /**
   * Extra environment for a trial replicate's worker (its run name, and the sweep to nest
   * under). `elsewhere`: the worker runs in another project folder (a queue worker), so
   * the link carries the parent's MLflow id (waited for, bounded, once), and the server
   * and experiment travel too: MLFLOW_TRACKING_URI without credentials (each machine
   * keeps its own), MLFLOW_EXPERIMENT_NAME as resolved here.
   */
  env(trial: TrialRecord, replicate: number, elsewhere?: boolean): Promise<Record<string, string>>;
  /** The best trial's values and objective, the objective plots, the status; waits a bounded time, never throws. */
  finish(record: SweepRecord): Promise<void>;
}

/** Undefined when the pipeline has no tracking URI (MLFLOW_TRACKING_URI, else `tracking.uri`). */
export async function startSweepMlflow(
  base: PipelineSpec,
  record: SweepRecord,
  log: (line: string) => void,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<SweepMlflow | undefined> {
  const layout = new Layout(base.root);
  const uri = base.tracking.uri;
  const tracker = SweepTracker.fromEnv(env, uri, { layout, log });
  if (!tracker || !uri) return undefined;
  await tracker.start(record, base.resolved);
  // The link at the start, not only at the end: a long sweep is watched in the UI as it runs.
  const parent = await tracker.parentRun(5_000);
  const state = parent.runId ? await mlflowState(layout, { kind: 'sweep', id: record.sweepId }) : undefined;
  if (state?.url) log(`sweep ${record.sweepId}: MLflow ${state.url}`);
  return {
    env: async (trial, replicate, elsewhere) => {
      if (!elsewhere) return tracker.workerEnv(trial, replicate);
      return {
        ...tracker.workerEnv(trial, replicate, await tracker.parentRun()),
        ...trackingEnvElsewhere(uri, base.tracking.experiment),
      };
    },
    finish: async (final) => {
      const plots = await writeObjectiveFigures(layout, final, sweepDir(layout, final.sweepId), (m) =>
        log(`sweep ${final.sweepId}: ${m}`),
      );
      const r = await tracker.finish(final, plots);
      log(`sweep ${final.sweepId}: ${r.message}`);
    },
  };
}

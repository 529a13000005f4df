import type { TrialTag } from '../tracking/sweep-record.js';
import type { RungReport, RungRule, Verdict } from '../runner/pruning.js';

export interface TrialTask {
  file: string;
  /** `--set` texts: the shared overrides, the trial's values and the replicate's seed. */
  sets: string[];
  /** The sweep's trial replicate this run is; absent for a plain run elsewhere (`run --executor queue|slurm` without a sweep). */
  tag?: TrialTag;
  noCache: boolean;
  backend?: string;
  cwd: string;
  /** More environment for the run (the MLflow parent link, see mlflow-parent.ts). */
  env?: Record<string, string>;
  /** The sweep prunes this run: the epochs where it asks whether to go on (answered through `run`'s `rung`). */
  prune?: RungRule;
}

export type TrialOutcome =
  { ok: true; runId: string } | { ok: false; badInput: boolean; message: string; runId?: string };

// Where a sweep's trials run (and a plain run sent elsewhere, see run-elsewhere.ts): local
// worker processes, Slurm job arrays, a job queue across machines.
export interface TrialExecutor {
  /** Trials run in other project folders (other machines): what they need of this one travels in the task. */
  readonly elsewhere?: boolean;
  /** `false`: no way to ask the sweep while a trial trains, so no pruning (Slurm). */
  readonly prunes?: boolean;
  /** How errors name it (`--executor slurm`). */
  readonly name?: string;
  /** `progress`: lines about the trial as it runs (a stage starting, a fold's epochs), where the executor can tell. */
  run(
    task: TrialTask,
    signal: AbortSignal,
    progress?: (line: string) => void,
    rung?: (report: RungReport) => Promise<Verdict>,
  ): Promise<TrialOutcome>;
  /** Called once before the first trial with how many run at once: start what can start early. */
  prepare?(slots: number): void;
  /** Stops whatever the executor keeps between trials. */
  close?(): Promise<void>;
}

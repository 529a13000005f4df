import type { RunStatus } from './run-record.js';
import type { SweepSpec } from '../config/sweep-spec.js';

/** PRUNED: stopped while training by the sweep's pruner (see `pruned`), or not run because its trial was. */
export type ReplicateStatus = 'pending' | 'running' | 'FINISHED' | 'FAILED' | 'KILLED' | 'PRUNED';

export interface ReplicateRecord {
  replicate: number;
  seed: number;
  status: ReplicateStatus;
  attempts: number;
  runId?: string;
  objective?: number;
  error?: string;
  /** Fold 0's best val_loss at each rung epoch it reached while training (pruned sweeps). */
  rungs?: Record<string, number>;
  /** Fold 0's val_loss per epoch (replicate 0 of a pruned sweep: the report draws every trial's). */
  curve?: number[];
  /** Where and why the pruner stopped it (`reused`: decided by an earlier run of the same sweep). */
  pruned?: { stage: string; epoch: number; value: number; reason: string; reusedFrom?: string };
}

export interface TrialRecord {
  id: string;
  values: Record<string, unknown>;
  /** Key → the name of its value, for keys swept over named choices. */
  labels?: Record<string, string>;
  replicates: ReplicateRecord[];
  /** Over the finished replicates. */
  objective?: { mean: number; std: number; n: number };
}

/** `.paramflow/sweeps/<sweep-id>/sweep.json`: the sweep, its trials and their runs. */
export interface SweepRecord {
  format: 1;
  sweepId: string;
  pipeline: { name: string; file: string; experiment: string };
  spec: SweepSpec;
  /** The `--set` overrides every trial shares. */
  overrides: string[];
  status: RunStatus;
  pid: number;
  host: string;
  startedAt: string;
  endedAt?: string;
  trials: TrialRecord[];
  /** The same pipeline, overrides and sweep give the same key: a rerun continues from its pruning decisions. */
  key?: string;
  /** Why the sweep stopped proposing trials before its list or space ran out (a budget). */
  stopped?: string;
  best?: {
    trial: string;
    values: Record<string, unknown>;
    labels?: Record<string, string>;
    objective: { mean: number; std: number; n: number };
  };
}

/** What a trial's own run records about the sweep it belongs to. */
export interface TrialTag {
  sweep: string;
  trial: string;
  replicate: number;
  values: Record<string, unknown>;
  /** Key → the name of its value, for keys swept over named choices (MLflow param `<key>.choice`). */
  labels?: Record<string, string>;
}

/**
 * A RUNNING sweep whose process died without recording its end (SIGKILL, a crash), as the sweep
 * would have recorded itself on an interrupt: its unfinished replicates KILLED (a replicate gets
 * its run id only once its run ends, so none of them has a finished run to look up).
 */
export function asKilled(r: SweepRecord): SweepRecord {
  const error = `the sweep's process (pid ${r.pid} on ${r.host}) died before this replicate finished`;
  return {
    ...r,
    status: 'KILLED',
    trials: r.trials.map((t) => ({
      ...t,
      replicates: t.replicates.map((x) =>
        x.status === 'pending' || x.status === 'running' ? { ...x, status: 'KILLED' as const, error } : x,
      ),
    })),
  };
}

/** Mean and sample std of the finished replicates' objectives. */
export function summarize(t: TrialRecord): TrialRecord['objective'] {
  const xs = t.replicates.filter((r) => r.status === 'FINISHED' && r.objective !== undefined).map((r) => r.objective!);
  if (xs.length === 0) return undefined;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, std, n: xs.length };
}

export function bestTrial(trials: readonly TrialRecord[], goal: 'minimize' | 'maximize'): TrialRecord | undefined {
  const scored = trials.filter((t) => t.objective);
  const sign = goal === 'minimize' ? 1 : -1;
  return scored.sort((a, b) => sign * (a.objective!.mean - b.objective!.mean))[0];
}

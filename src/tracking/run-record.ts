import type { KeyDetails } from '../hash/stage-key.js';
import type { BackendName, FoldReport, MetricPoint } from '../stage-contract/types.js';

// The shape of `.paramflow/runs/<run-id>/run.json`. Bump RUN_FORMAT on breaking changes.
export const RUN_FORMAT = 1;

/** PRUNED: a sweep stopped the run while it trained (its trial was doing worse than the others). */
export type RunStatus = 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED' | 'PRUNED';
export type StageStatus = 'pending' | 'running' | 'cached' | 'executed' | 'failed' | 'skipped';

export interface StageRecord {
  type: string;
  key: string;
  details: KeyDetails;
  status: StageStatus;
  /** Why it ran (or was taken from the cache), in words. */
  reason?: string;
  startedAt?: string;
  durationMs?: number;
  files?: Record<string, { sha256: string; size: number }>;
  metrics?: Record<string, number>;
  series?: Record<string, MetricPoint[]>;
  folds?: FoldReport[];
  error?: { code: string; message: string };
}

export interface Environment {
  paramflow: string;
  node: string;
  platform: string;
  arch: string;
  /** `branch`: none on a detached HEAD; `remote`: the `origin` URL, credentials redacted. */
  git: { commit: string; dirty: boolean; branch?: string; remote?: string } | null;
  /** The TensorFlow.js backend of the run's train/evaluate stages, if any. */
  backend?: { name: BackendName; reason: string; tfjs: string };
}

export interface RunRecord {
  format: number;
  runId: string;
  runHash: string;
  pipeline: { name: string; file: string; experiment: string };
  resolved: Record<string, unknown>;
  status: RunStatus;
  pid: number;
  host: string;
  startedAt: string;
  endedAt?: string;
  stages: Record<string, StageRecord>;
  metrics: Record<string, number>;
  environment: Environment;
  options: { noCache: boolean; overrides: string[] };
  /** Set when the run is one replicate of a sweep's trial. */
  sweep?: import('./sweep-record.js').TrialTag;
  error?: { code: string; message: string; stage?: string; hint?: string };
  /** A PRUNED run: where its sweep stopped it and why. */
  pruned?: { stage: string; epoch: number; value: number; reason: string; curve?: number[] };
}

// The typed pipeline, as the loader hands it on after validation.

export interface StageSpec {
  name: string;
  /** `uses:` as written. */
  uses: string;
  needs: string[];
  /** Validated `with:`, defaults filled in. */
  with: Record<string, unknown>;
  /** The stage's seed: its own, or derived from the pipeline seed and its name. */
  seed: number;
  /**
   * Input name → the needed stage that provides it. Names written `stage.output` (a
   * command's `{inputs.stage.output}`) read that output of that stage.
   */
  inputs: Record<string, string>;
  /** Absolute paths of files whose content goes into the key (module source, a command's deps). */
  keyFiles: string[];
  /** `npm:` stages: the package version goes into the key. */
  pkg?: { name: string; version: string };
  /** A stage module imported while loading: its contract, for the runner to record. */
  contract?: { digest: string; value: import('../stage-contract/module-contract.js').ModuleContract };
}

export interface TrackingSpec {
  experiment: string;
  uri?: string;
}

export interface PipelineSpec {
  /** Absolute path of the pipeline file. */
  file: string;
  /** Folder of the pipeline file: params' paths resolve against it. */
  dir: string;
  /** Project root: where `.paramflow/` lives. */
  root: string;
  name: string;
  seed: number;
  tracking: TrackingSpec;
  /** Where the tracking URI was set (the file's `tracking.uri`, `--set`, or MLFLOW_TRACKING_URI), for errors. */
  trackingUriAt: import('../util/errors.js').SourceLocation;
  /** Stages in file order: plain values, as written and validated. */
  stages: StageSpec[];
  /**
   * Stage name → the code its `uses:` resolved to (built-in, or loaded from a module), with
   * this stage's ports applied (a command's outputs). Kept apart from the stages' values:
   * the loader resolved it to validate `with:`, and planning and the runner use it.
   */
  definitions: Readonly<Record<string, import('../stage-contract/types.js').StageDefinition<any>>>;
  /** What validation inferred of each stage's arrays (for the run's memory and disk estimates). */
  shapes?: Readonly<Record<string, import('./infer-shapes.js').StageShapes>>;
  /** Where each stage is defined in the file (its key under `stages:`), for errors about it. */
  stageAt?: Readonly<Record<string, import('../util/errors.js').SourceLocation>>;
  /** The pipeline as resolved (overrides applied, defaults filled): what the run hash covers. */
  resolved: Record<string, unknown>;
  /** The `sweep:` section, if any (not part of `resolved`: each trial is a plain run). */
  sweep?: Partial<import('./sweep-spec.js').SweepSpec>;
  /** `cache.remote:` as written in the file (pipeline/load.ts weighs it against PARAMFLOW_CACHE_REMOTE). */
  cacheRemote?: { written: string; at: import('../util/errors.js').SourceLocation };
  /** `executor:` settings for sweeps run elsewhere (not hashed). */
  executor?: { slurm?: SlurmSettings };
}

/** `executor.slurm:` — each array task's resources. */
export interface SlurmSettings {
  partition?: string;
  cpus?: number;
  mem?: string;
  time?: string;
  account?: string;
  max_parallel?: number;
  poll_seconds?: number;
}

export interface Override {
  /** The flag's value as typed: `simulate.n=2000`. */
  text: string;
  /** 1-based column of the value on the command line, for error locations. */
  column?: number;
  /** Where the value was written, when not on the command line (a sweep key in the file). */
  location?: import('../util/errors.js').SourceLocation;
}

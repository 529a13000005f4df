// The contract between paramflow and a stage. Stages see only this module (and
// ndarray/random helpers): never the cache, the CLI or tracking.

export type DType = 'float32' | 'float64' | 'int32';

export type TypedArrayFor<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'float64'
    ? Float64Array
    : Int32Array;

/** A dense C-order array; stored as `<name>.npy`. */
export interface NdArray<D extends DType = DType> {
  readonly kind: 'ndarray';
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly data: TypedArrayFor<D>;
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

/** A JSON document output; stored as `<name>.json`. */
export interface JsonArtifact {
  readonly kind: 'json';
  readonly value: JsonValue;
}

/** A folder of files (a saved model, plots); stored as `<name>/` in the cache entry. */
export interface FolderArtifact {
  readonly kind: 'folder';
  /** Relative path (forward slashes, no `..`) → bytes. */
  readonly files: Readonly<Record<string, Uint8Array>>;
}

export type Artifact = NdArray | JsonArtifact | FolderArtifact;

/** One point of a metric curve (e.g. `loss` at an epoch). */
export interface MetricPoint {
  step: number;
  value: number;
  /** Milliseconds since the epoch, when the value was measured. */
  timestamp: number;
}

/** What one cross-validation fold reports (an MLflow run nested under the pipeline run). */
export interface FoldReport {
  fold: number;
  metrics: Record<string, number>;
  series: Record<string, MetricPoint[]>;
}

/** Inputs resolved from `needs`: output name → artifact. */
export type StageInputs = Readonly<Record<string, Artifact>>;

export interface StageResult {
  outputs: Record<string, Artifact>;
  /** Scalar metrics, keyed per the Conventions (e.g. `rmse.A.mean`, `cv_rmse_mean`). */
  metrics?: Record<string, number>;
  /** Metric curves of the stage as a whole (step = epoch, …). */
  series?: Record<string, MetricPoint[]>;
  /** Per-fold metrics and curves (`loss`, `val_loss`, `rmse.A`, …). */
  folds?: FoldReport[];
}

export type BackendName = 'tfjs-node' | 'native' | 'wasm' | 'cpu';

/** TensorFlow.js, initialised on the run's backend. Only type imports here: nothing loads TF until `ctx.tf()`. */
export interface TfRuntime {
  readonly tf: typeof import('@tensorflow/tfjs-core');
  readonly layers: typeof import('@tensorflow/tfjs-layers');
  readonly backend: BackendName;
  /** tfjs-core version. */
  readonly version: string;
}

/**
 * Per-stage scratch that survives an interrupted run (keyed by the stage key): a stage
 * saves its progress here and resumes from it; paramflow clears it once the stage's
 * outputs are in the cache.
 */
export interface CheckpointStore {
  load(): Promise<Record<string, Uint8Array> | undefined>;
  /** Replaces the whole checkpoint atomically. */
  save(files: Record<string, Uint8Array>): Promise<void>;
}

export interface StageContext {
  /** The stage's name in the pipeline. */
  readonly stage: string;
  /** 32-bit unsigned seed derived from the pipeline seed and the stage name (or the stage's own). */
  readonly seed: number;
  /** Project root; paths in params are already resolved against the pipeline folder. */
  readonly root: string;
  /** Report progress on long work (`done` of `total` units, e.g. datasets or epochs). */
  progress(done: number, total: number, unit?: string): void;
  /** A line for the run log. */
  log(message: string): void;
  /** Aborted on SIGINT; long loops should check it. */
  readonly signal: AbortSignal;
  /** TensorFlow.js on the run's backend (loaded on first call). */
  tf(): Promise<TfRuntime>;
  readonly checkpoint: CheckpointStore;
}

export interface OutputSpec {
  name: string;
  kind: Artifact['kind'];
}

export interface StageDefinition<P = unknown> {
  /** Registered name, used by `uses:`. */
  readonly name: string;
  /** Implementation version: bump it whenever results change for the same params. */
  readonly version: string;
  /** Path of the JSON Schema of `with:`, relative to the package's `schemas/` folder. */
  readonly schema: string;
  /** Output names this stage consumes from the stages it `needs`. */
  readonly inputs: readonly string[];
  /** Inputs that may be absent. */
  readonly optionalInputs?: readonly string[];
  readonly outputs: readonly OutputSpec[];
  /**
   * Params (the validated `with:`, defaults filled in) that are file paths relative
   * to the pipeline folder, as JSON pointers; paramflow checks they stay in the project
   * and hashes the files' content into the stage key.
   */
  readonly pathParams?: readonly string[];
  /**
   * The stage computes with TensorFlow.js: its key includes the backend name and the
   * tfjs version (another backend gives other numbers).
   */
  readonly usesBackend?: boolean;
  /**
   * Checks across params that JSON Schema cannot express (e.g. priors must name the
   * model's parameters); each problem is located at `pointer` inside `with:`.
   */
  check?(params: P): readonly ParamProblem[];
  run(inputs: StageInputs, params: P, ctx: StageContext): Promise<StageResult> | StageResult;
}

export function defineStage<P>(def: StageDefinition<P>): StageDefinition<P> {
  return Object.freeze(def);
}

export interface ParamProblem {
  /** JSON pointer inside `with:` (e.g. `/params/E`). */
  pointer: string;
  message: string;
  hint: string;
}

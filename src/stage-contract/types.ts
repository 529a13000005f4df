// The contract between paramflow and a stage. Stages see only this module (and
// ndarray/random helpers): never the cache, the CLI or tracking.
import type { FromSchema, JsonSchema } from './from-schema.js';

export type { FromSchema, JsonSchema } from './from-schema.js';

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

/**
 * An ndarray that stays in its `.npy` file: the runner hands one to a stage that declares
 * `streams` when the array is large, and a stage's ArraySink gives one back. Read it by rows
 * (everything after the first dimension); never whole.
 */
export interface ArrayFile<D extends DType = DType> {
  readonly kind: 'array-file';
  readonly dtype: D;
  readonly shape: readonly number[];
  /** Rows `start … start + count - 1`, into `into` when given (else a new array). */
  readRows(start: number, count: number, into?: TypedArrayFor<D>): TypedArrayFor<D>;
}

/** An array output written as it is computed (ctx.createArray): rows in order, then `finish`. */
export interface ArraySink<D extends DType = DType> {
  /** Appends whole rows, in C order. */
  append(values: TypedArrayFor<D>): Promise<void>;
  /** The finished output (an error if fewer or more rows came than its shape says). */
  finish(): Promise<NdArray<D> | ArrayFile<D>>;
}

export type Artifact = NdArray | ArrayFile | JsonArtifact | FolderArtifact;

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
  /** Scalar metrics, keyed per docs/conventions.md, Metrics (e.g. `rmse.A.mean`, `cv_rmse_mean`). */
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
  /**
   * Whether a save is worth its cost now (absent: always). Saving every epoch of a
   * seconds-long training is mostly fsync; resuming is exact from any checkpoint, so
   * how often one is taken never changes results.
   */
  due?(): boolean;
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
  /** Folder of the pipeline file (a command's working directory); the runner always sets it. */
  readonly dir?: string;
  /**
   * A fresh scratch folder inside the project for this stage's execution (a command's
   * inputs and outputs); removed after the outputs are cached, kept when the stage fails.
   */
  scratch?(): Promise<string>;
  /**
   * A fold's training as it goes: MLflow gets the fold's run when it starts and its curves
   * while it trains, the terminal shows the epoch. Optional: a stage that trains in folds
   * calls `ctx.fold?.(…)`; the values must be the ones its result reports (same steps).
   * A stage that awaits what an `epoch` event returns lets a sweep stop it there (pruning):
   * `ctx.signal` is then aborted before the promise resolves.
   */
  fold?(event: FoldEvent): void | Promise<void>;
  /**
   * A sink for an ndarray output of this shape, written as the stage computes it: to the
   * cache's staging area when it is large, else gathered in memory. Absent (a test's
   * context): use `arraySink` (src/stage-contract/rows.ts), which falls back to memory.
   */
  createArray?<D extends DType>(name: string, dtype: D, shape: readonly number[]): Promise<ArraySink<D>>;
}

export interface FoldEvent {
  fold: number;
  /** `start` before its first epoch (or on resuming it), `epoch` after each epoch, `end` once its model is final. */
  phase: 'start' | 'epoch' | 'end';
  /** Epochs done (1-based: `epoch` events carry the epoch they report). */
  epoch: number;
  /** Epochs planned (early stopping may end the fold sooner). */
  epochs: number;
  /** `epoch`: the values logged at step `epoch` (`loss`, `val_loss`). */
  metrics?: Record<string, number>;
  /** `start` of a fold resumed from a checkpoint: each metric at epochs 1…`epoch` (a pruner judges it as if it had watched them). */
  resumed?: Record<string, number[]>;
  /** When it happened, ms since the Unix epoch (an `epoch` event: the time its curve points carry). */
  at: number;
}

export interface OutputSpec {
  name: string;
  /** An ndarray output may be returned as an ArrayFile (from ctx.createArray or a streamed input). */
  kind: 'ndarray' | 'json' | 'folder';
}

/**
 * What a stage reads and writes when that depends on its `with:` (a command declares its
 * outputs and names its inputs in `run`). Inputs written `stage.output` name the needed
 * stage explicitly; files are paths relative to the pipeline folder whose content goes
 * into the stage key (with the JSON pointer in `with:` that names each, for errors;
 * default `/deps/<i>`).
 */
export interface StagePorts {
  inputs?: readonly string[];
  outputs?: readonly OutputSpec[];
  files?: readonly (string | { path: string; pointer: string })[];
  /** Files hashed into the key when they exist inside the project (scripts named in a command). */
  optionalFiles?: readonly string[];
}

/** A dimension known before anything runs, or undefined when only the data can tell. */
export type Dim = number | undefined;

/** What validation knows of an ndarray's shape, dimension by dimension. */
export interface ArrayShape {
  readonly shape: readonly Dim[];
  /** When known (float32 is assumed otherwise): for the run's memory and disk estimates. */
  readonly dtype?: DType;
}

/** Shapes by input or output name; an absent name is not known. */
export type KnownShapes = Readonly<Record<string, ArrayShape | undefined>>;

/** What a stage infers at validation: its outputs' shapes, and why its params cannot fit its inputs. */
export interface ShapeInference {
  outputs?: KnownShapes;
  problems?: readonly ParamProblem[];
  /** Outputs that are an input returned as it is (no new bytes: the cache links the file). */
  passThrough?: readonly string[];
}

/** What planning knows of the run when it asks a stage for its key facts. */
export interface KeyFactsContext {
  /** The TensorFlow.js backend the run uses (`native`, `wasm`, `cpu`, `tfjs-node`). */
  backend: string;
  /** tfjs-core's version. */
  tfjsVersion: string;
  env: Readonly<Record<string, string | undefined>>;
}

export interface StageDefinition<P = unknown> {
  /** Registered name, used by `uses:`. */
  readonly name: string;
  /** Implementation version: bump it whenever results change for the same params. */
  readonly version: string;
  /**
   * The JSON Schema of `with:`: a path relative to the package's `schemas/` folder
   * (built-ins), or the schema itself (stage modules).
   */
  readonly schema: string | object;
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
   * Facts of how this stage will compute, beyond its params, that change its results and so
   * belong in its key (the train stage: which trainer its model gets on this backend). Asked
   * when planning, for stages that use a backend; must be cheap and load nothing heavy.
   */
  keyFacts?(params: P, run: KeyFactsContext): Readonly<Record<string, string>>;
  /**
   * The stage reads its large ndarray inputs as ArrayFiles (by rows, never whole); without it
   * every ndarray input is an NdArray in memory. Which inputs are large is the runner's choice
   * (PARAMFLOW_STREAM_BYTES): a stage that streams handles both kinds, with the same results.
   */
  readonly streams?: boolean;
  /** Top-level params that cannot change results (a timeout): left out of the stage key. */
  readonly keyExcluded?: readonly string[];
  /**
   * Checks across params that JSON Schema cannot express (e.g. priors must name the
   * model's parameters); each problem is located at `pointer` inside `with:`.
   */
  check?(params: P): readonly ParamProblem[];
  /**
   * Checks that need files (a data file's content, a custom model's parameters), run by
   * the loader after `check`: `dir` is the pipeline folder, `root` the project root.
   * Returns problems located in `with:`, or throws a ParamflowError located in the file.
   */
  prepare?(params: P, site: { dir: string; root: string }): Promise<readonly ParamProblem[]>;
  /**
   * Shapes at validation, before anything runs: the outputs' shapes from the params and
   * the inputs' shapes (as far as they are known), and the problems that would make `run`
   * fail on them (output units ≠ targets, k folds > datasets), located in `with:`. Absent:
   * the outputs' shapes are unknown and nothing is checked. `run` still checks what the
   * data alone can tell.
   */
  inferShapes?(params: P, inputs: KnownShapes): ShapeInference;
  /** Per-stage inputs, outputs and key files, from the validated params (see StagePorts). */
  ports?(params: P): StagePorts;
  run(inputs: StageInputs, params: P, ctx: StageContext): Promise<StageResult> | StageResult;
}

/** A stage module's definition: its schema is an object, and `run`'s params are typed from it. */
export type ModuleStageDefinition<S extends JsonSchema> = Omit<StageDefinition<FromSchema<S>>, 'schema' | 'inputs'> & {
  readonly schema: S;
  /** Output names this stage reads from the stages it `needs` (default: none). */
  readonly inputs?: readonly string[];
};

/**
 * Declares a stage. Stage modules pass their `with:` schema as an object and get `run`'s
 * params typed from it; built-ins name a schema file under schemas/ and give the type.
 */
export function defineStage<const S extends JsonSchema>(def: ModuleStageDefinition<S>): StageDefinition<FromSchema<S>>;
export function defineStage<P>(def: StageDefinition<P>): StageDefinition<P>;
export function defineStage(
  def: Omit<StageDefinition<unknown>, 'inputs'> & { inputs?: readonly string[] },
): StageDefinition<unknown> {
  return Object.freeze({ ...def, inputs: def.inputs ?? [] });
}

export interface ParamProblem {
  /** JSON pointer inside `with:` (e.g. `/params/E`). */
  pointer: string;
  message: string;
  hint: string;
}

import { loadTensorflow } from '../../src/backend/load.js';
import { backendProblem } from '../../src/backend/probe.js';
import type { BackendName, CheckpointStore, NdArray, StageContext, TfRuntime } from '../../src/stage-contract/types.js';
import { simulate, type SimulateParams } from '../../stages/simulate/index.js';
import { splitFolds } from '../../stages/split-folds/index.js';
import type { TrainParams } from '../../stages/train/index.js';
import { compileStageSchema } from './stage-schema.js';

/**
 * The backend train tests run on: native when its kernels are built (what a run picks
 * without tfjs-node), else wasm (loads everywhere). CI runs these tests both ways
 * (PARAMFLOW_NO_NATIVE=1 for the fallback path).
 */
export const TRAIN_BACKEND: BackendName = backendProblem('native') === undefined ? 'native' : 'wasm';

export function trainRuntime(): Promise<TfRuntime> {
  return loadTensorflow(TRAIN_BACKEND);
}

/** A CheckpointStore in memory, counting saves. */
export class MemoryCheckpoints implements CheckpointStore {
  files: Record<string, Uint8Array> | undefined;
  saves = 0;

  async load(): Promise<Record<string, Uint8Array> | undefined> {
    return this.files ? { ...this.files } : undefined;
  }

  async save(files: Record<string, Uint8Array>): Promise<void> {
    this.files = { ...files };
    this.saves++;
  }
}

export interface TrainContext extends StageContext {
  readonly progressCalls: { done: number; total: number; unit?: string }[];
  readonly logs: string[];
  readonly store: MemoryCheckpoints;
}

export interface TrainContextOptions {
  seed?: number;
  store?: MemoryCheckpoints;
  signal?: AbortSignal;
  /** Called after each progress() call is recorded. */
  onProgress?(done: number, total: number): void;
}

/** A StageContext for train's run(): TensorFlow on TRAIN_BACKEND, checkpoints in memory. */
export function trainContext(o: TrainContextOptions = {}): TrainContext {
  const progressCalls: TrainContext['progressCalls'] = [];
  const logs: string[] = [];
  const store = o.store ?? new MemoryCheckpoints();
  return {
    stage: 'train',
    seed: o.seed ?? 2024,
    root: '/tmp',
    signal: o.signal ?? new AbortController().signal,
    tf: trainRuntime,
    checkpoint: store,
    store,
    progressCalls,
    logs,
    progress(done, total, unit) {
      progressCalls.push({ done, total, unit });
      o.onProgress?.(done, total);
    },
    log(message) {
      logs.push(message);
    },
  };
}

// A type alias, not an interface: it must pass as StageInputs (an index signature).
export type CurveData = {
  X: NdArray;
  Y: NdArray;
  targets: NdArray;
  folds: NdArray;
};

const noop = { progress: () => undefined, log: () => undefined };

/**
 * Noise-free exponential-decay curves y = A·exp(-B·x) + C made by the real simulate
 * stage, dealt into folds by split-folds.
 */
export async function decayCurves(n = 200, points = 20, k = 4, seed = 11): Promise<CurveData> {
  const params: SimulateParams = {
    n,
    model: 'exponential-decay',
    x: { start: 0, stop: 4, points, jitter: 0 },
    params: { A: { uniform: [0.5, 2] }, B: { uniform: [0.2, 1.2] }, C: { uniform: [-0.5, 0.5] } },
    dtype: 'float32',
  } as SimulateParams;
  const ctx = {
    ...noop,
    stage: 'simulate',
    seed,
    root: '/tmp',
    signal: new AbortController().signal,
  } as unknown as StageContext;
  const sim = await simulate.run({}, params, ctx);
  const targets = sim.outputs.targets as NdArray;
  const split = await splitFolds.run({ targets }, { k, holdout: 0 }, { ...ctx, seed: seed + 1 });
  return { X: sim.outputs.X as NdArray, Y: sim.outputs.Y as NdArray, targets, folds: split.outputs.folds as NdArray };
}

const validate = compileStageSchema('train');

/** `with:` as paramflow passes it to run(): validated, defaults filled. */
export function trainParams(value: Record<string, unknown>): TrainParams {
  const copy = structuredClone(value);
  if (!validate(copy)) throw new Error(`invalid train params: ${JSON.stringify(validate.errors)}`);
  return copy as unknown as TrainParams;
}

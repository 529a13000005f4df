import { loadTensorflow } from '../../src/backend/load.js';
import { ndarray } from '../../src/stage-contract/ndarray.js';
import type {
  CheckpointStore,
  FolderArtifact,
  NdArray,
  StageContext,
  TfRuntime,
} from '../../src/stage-contract/types.js';
import { modelToFiles } from '../../src/model/model-io.js';
import type { FoldScaler } from '../../src/model/scalers.js';
import { fakeContext, type FakeContext } from './stage-context.js';
import { TRAIN_BACKEND } from './train-context.js';

/** A StageContext whose TensorFlow is the train tests' backend (native, or wasm without it). */
export function evaluateContext(overrides: Partial<StageContext> = {}): FakeContext {
  return fakeContext({
    stage: 'evaluate',
    tf: () => loadTensorflow(TRAIN_BACKEND),
    checkpoint: noCheckpoint,
    ...overrides,
  });
}

const noCheckpoint: CheckpointStore = {
  load: async () => undefined,
  save: async () => undefined,
};

/** One linear layer y = x·W + b: `kernel` is features × targets, row-major. */
export interface LinearWeights {
  kernel: number[][];
  bias: number[];
}

/**
 * train's `model` output for fixed linear models, one per fold: a single Dense layer
 * (no activation) whose weights are set, so every prediction is known by hand.
 */
export async function linearModelFolder(rt: TfRuntime, folds: readonly LinearWeights[]): Promise<FolderArtifact> {
  const files: Record<string, Uint8Array> = {};
  for (const [fold, w] of folds.entries()) {
    const features = w.kernel.length;
    const targets = w.bias.length;
    const model = rt.layers.sequential({
      layers: [rt.layers.layers.dense({ units: targets, inputShape: [features] })],
    });
    const kernel = rt.tf.tensor2d(w.kernel.flat(), [features, targets]);
    const bias = rt.tf.tensor1d(w.bias);
    model.setWeights([kernel, bias]);
    for (const [name, bytes] of Object.entries(await modelToFiles(rt, model))) files[`fold-${fold}/${name}`] = bytes;
    kernel.dispose();
    bias.dispose();
    model.dispose();
  }
  return { kind: 'folder', files };
}

/** A fold scaler with the given statistics (`inputs: null` → mode 'none'). */
export function foldScaler(
  inputs: { mean: number[]; std: number[] } | null,
  targets: { mean: number[]; std: number[]; standardize: boolean },
): FoldScaler {
  return { inputs: inputs ? { mode: 'per-feature', ...inputs } : { mode: 'none', mean: null, std: null }, targets };
}

/** A float32 matrix from rows. */
export function matrixArray(rows: readonly (readonly number[])[]): NdArray<'float32'> {
  return ndarray('float32', [rows.length, rows[0]?.length ?? 0], Float32Array.from(rows.flat()));
}

/** An IHDR's width and height, or undefined when `bytes` is not a PNG. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  const magic = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 24 || !magic.every((b, i) => bytes[i] === b)) return undefined;
  if (Buffer.from(bytes.subarray(12, 16)).toString('latin1') !== 'IHDR') return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

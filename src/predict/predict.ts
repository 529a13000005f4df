import { Layout } from '../project/layout.js';
import { CacheStore, type Manifest } from '../cache/store.js';
import { ParamflowError } from '../util/errors.js';
import { backendProblem, chooseBackend } from '../backend/probe.js';
import { loadTensorflow } from '../backend/load.js';
import { ndarray } from '../stage-contract/ndarray.js';
import type { Artifact, BackendName } from '../stage-contract/types.js';
import { resolveRunRef } from '../tracking/resolve-ref.js';
import type { RunRecord } from '../tracking/run-record.js';
import { RunStore } from '../tracking/run-store.js';
import { foldModelFiles, modelFromFiles } from '../model/model-io.js';
import { trainingGrid as gridOf } from '../model/features.js';
import { scaledCurveFeatures, unscaleTargets, type Scalers } from '../model/scalers.js';
import { interpolateOnto } from './interpolate.js';
import { readCurves } from '../format/read-curves.js';

export interface PredictOptions {
  root: string;
  ref: string;
  input: string;
  backend?: string;
}

export interface Prediction {
  runId: string;
  backend: BackendName;
  targetNames: string[];
  /** Per curve and target: the mean over fold models, and their spread (std). */
  mean: number[][];
  std: number[][];
  folds: number;
}

/** Predictions for new curves from a recorded run's fold models (the ensemble mean ± spread). */
export async function predictCurves(o: PredictOptions): Promise<Prediction> {
  const layout = new Layout(o.root);
  const record = resolveRunRef(o.ref, await new RunStore(layout).list());
  const cache = new CacheStore(layout);
  const [trainName, trainStage] = Object.entries(record.stages).find(([, s]) => s.type === 'train') ?? [];
  if (!trainName || !trainStage) {
    throw new ParamflowError('PF_BAD_REF', `run ${record.runId} (${record.pipeline.name}) has no train stage`, {
      location: { file: '<command line>' },
      hint: 'give a run of a pipeline that trains a model',
    });
  }
  const trained = await cache.load(await entry(cache, trainStage.key, trainName, record));
  const scalers = (trained.scalers as { value: unknown }).value as Scalers;
  const models = (trained.model as Extract<Artifact, { kind: 'folder' }>).files;
  const grid = await trainingGrid(cache, record, trainStage.details.inputs);

  const curves = await readCurves(o.input);
  const n = curves.y.length;
  const p = grid.length;
  const X = ndarray('float32', [n, p]);
  const Y = ndarray('float32', [n, p]);
  for (let i = 0; i < n; i++) {
    X.data.set(grid, i * p);
    Y.data.set(interpolateOnto(curves.x[i]!, curves.y[i]!, grid, i, o.input), i * p);
  }

  const recorded = record.environment.backend?.name;
  const backend = o.backend
    ? chooseBackend(o.backend).name
    : recorded && !backendProblem(recorded)
      ? recorded
      : chooseBackend().name;
  const rt = await loadTensorflow(backend);
  const k = scalers.targetNames.length;
  const perFold: Float32Array[] = [];
  for (let f = 0; f < scalers.folds.length; f++) {
    const model = await modelFromFiles(rt, foldModelFiles(models, f));
    const inputs = scaledCurveFeatures(scalers.folds[f]!, X, Y);
    const out = rt.tf.tidy(
      () =>
        model.predict(
          rt.tf.tensor2d(inputs.data, [inputs.rows, inputs.cols]),
        ) as import('@tensorflow/tfjs-core').Tensor,
    );
    const raw = (await out.data()) as Float32Array;
    out.dispose();
    model.dispose();
    perFold.push(unscaleTargets(scalers.folds[f]!, { rows: n, cols: k, data: raw }).data);
  }
  const mean: number[][] = [];
  const std: number[][] = [];
  for (let i = 0; i < n; i++) {
    const m: number[] = [];
    const s: number[] = [];
    for (let t = 0; t < k; t++) {
      const values = perFold.map((d) => d[i * k + t]!);
      const mu = values.reduce((a, b) => a + b, 0) / values.length;
      m.push(mu);
      s.push(Math.sqrt(values.reduce((a, v) => a + (v - mu) ** 2, 0) / Math.max(1, values.length - 1)));
    }
    mean.push(m);
    std.push(s);
  }
  return { runId: record.runId, backend, targetNames: scalers.targetNames, mean, std, folds: perFold.length };
}

async function entry(cache: CacheStore, key: string, stage: string, record: RunRecord): Promise<Manifest> {
  const found = await cache.lookup(key);
  if (found.hit) return found.manifest;
  throw new ParamflowError(
    'PF_BAD_REF',
    `the cached outputs of stage ${stage} of run ${record.runId} are gone (${found.reason})`,
    {
      location: { file: '<command line>' },
      hint: `run \`paramflow run ${record.pipeline.file}\` again to rebuild them (the same run hash is reused)`,
    },
  );
}

/** The x grid the model was trained on: the mean over curves of the training input X. */
async function trainingGrid(
  cache: CacheStore,
  record: RunRecord,
  inputs: Record<string, string>,
): Promise<Float64Array> {
  for (const key of Object.values(inputs)) {
    const found = await cache.lookup(key);
    if (!found.hit || !found.manifest.outputs.X) continue;
    // Read by rows from its file (checked as it is streamed): a million curves are never loaded whole.
    const X = (await cache.load(found.manifest, { streamBytes: 0 })).X;
    if (X?.kind === 'ndarray' || X?.kind === 'array-file') return gridOf(X);
  }
  throw new ParamflowError(
    'PF_BAD_REF',
    `the training curves of run ${record.runId} are no longer cached, so their x grid is unknown`,
    {
      location: { file: '<command line>' },
      hint: `run \`paramflow run ${record.pipeline.file}\` again to rebuild them`,
    },
  );
}

import { stringify } from 'yaml';
import type { RunRecord, StageRecord } from '../run-record.js';
import type { TrackedDataset, TrackedModel } from '../run-tracker.js';
import { artifactOp, type Mapped } from './mapped-ops.js';
import { MAX_DIGEST_LENGTH } from './model-api.js';
import { RUN_SCOPE } from './ops.js';
import { defaultRunName } from './mapping.js';

// A trained stage's fold models as an MLflow pyfunc model (numpy only: the loader module
// paramflow ships, python/paramflow_pyfunc.py), and a data stage's arrays as a dataset input.
// Pure: the tracker writes the generated files, spools the ops, and sends them in order.

export const LOADER_MODULE = 'paramflow_pyfunc';
export const MODEL_TYPE = 'paramflow-fold-ensemble';

/**
 * The model folder (MLmodel, code/, data/) under the run's artifacts at `model/` — so
 * `runs:/<run>/model` loads — and the same files as an MLflow 3 logged model (`models:/<id>`).
 */
export function mapModel(
  record: RunRecord,
  stage: string,
  model: TrackedModel,
  runDir: string,
  loaderSource: string,
  runName?: string,
): Mapped {
  const out: Mapped = { ops: [], files: [], skipped: [] };
  const dir = `${runDir}/mlflow/model/${stage}`;
  const generated = (path: string, content: string) => {
    out.files.push({ file: `${dir}/${path}`, content });
    return { path, file: `${dir}/${path}` };
  };
  const mlmodel = {
    artifact_path: 'model',
    flavors: { python_function: { loader_module: LOADER_MODULE, code: 'code', data: 'data' } },
    metadata: { paramflow_run_id: record.runId, paramflow_stage: stage, paramflow_run_hash: record.runHash },
  };
  const files = [
    generated('MLmodel', stringify(mlmodel)),
    generated(`code/${LOADER_MODULE}.py`, loaderSource),
    generated('data/grid.json', JSON.stringify({ x: model.grid })),
    { path: 'data/scalers.json', file: model.scalers },
    ...Object.entries(model.folds).map(([path, file]) => ({ path: `data/${path}`, file })),
  ];
  for (const f of files) out.ops.push(artifactOp(RUN_SCOPE, `model/${f.path}`, f.file));
  const name = modelName(runName ? `${record.pipeline.name} ${runName}` : defaultRunName(record));
  out.ops.push({ op: 'logged-model', scope: RUN_SCOPE, name, modelType: MODEL_TYPE, files });
  return out;
}

/** A data stage's arrays as the run's dataset: named for the stage, its digest paramflow's content key. */
export function mapDataset(stage: string, s: StageRecord, dataset: TrackedDataset): Mapped {
  const profile = {
    arrays: Object.fromEntries(Object.entries(dataset.arrays).map(([k, a]) => [k, a.shape])),
    bytes: dataset.bytes,
  };
  // MLflow's UI draws a schema table from `mlflow_colspec` rows (name, type) and nothing useful
  // from any other form ("Array Datasource" for tensor specs): one row per array, its type
  // saying its dtype and shape.
  const schema = {
    mlflow_colspec: Object.entries(dataset.arrays).map(([name, a]) => ({
      name,
      type: `${a.dtype} (${a.shape.join(' × ')})`,
    })),
  };
  return {
    ops: [
      {
        op: 'log-inputs',
        scope: RUN_SCOPE,
        datasets: [
          {
            dataset: {
              name: stage,
              digest: dataset.key.slice(0, MAX_DIGEST_LENGTH),
              source_type: 'paramflow',
              source: JSON.stringify({ cache_key: dataset.key, stage, type: s.type }),
              schema: JSON.stringify(schema),
              profile: JSON.stringify(profile),
            },
            tags: [{ key: 'mlflow.data.context', value: s.type }],
          },
        ],
      },
    ],
    files: [],
    skipped: [],
  };
}

/**
 * A logged model's name: its run's, so a sweep's models differ in the Models tab (`<pipeline>
 * batch_size=16 layers=bn-output`). MLflow refuses / : . % " ' in it: each becomes `_`.
 */
export function modelName(runName: string): string {
  return runName.replace(/[/:.%"']/g, '_');
}

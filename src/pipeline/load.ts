import { chooseRemote, type RemoteSpec } from '../cache/remote/spec.js';
import { loadPipeline, type LoadOptions } from '../config/load-pipeline.js';
import type { PipelineSpec } from '../config/spec.js';
import { InputErrors, ParamflowError, type SourceLocation } from '../util/errors.js';
// The light parts of tracking/mlflow only: validation must not load the HTTP client.
import { experimentNameProblem, mlflowKeyProblems } from '../tracking/mlflow/limits.js';
import { pipelineParamKeys } from '../tracking/mlflow/mapping.js';
import { TRACKING_URI_HINT, trackingUriProblem } from '../tracking/mlflow/uri.js';

/** A pipeline as runs, sweeps, `validate` and `status` take it: checked for MLflow, with its remote cache chosen. */
export interface RunnablePipeline extends PipelineSpec {
  /** `cache.remote:` or PARAMFLOW_CACHE_REMOTE: the cache machines share (not hashed). */
  cache?: { remote: RemoteSpec };
}

/**
 * config/ reads the file into a typed spec and knows nothing of MLflow or remote caches; their
 * owners check what concerns them here, so everything wrong is still found before anything
 * runs: MLflow's key and name rules (tracking/), the remote's address (cache/).
 */
export async function loadRunnablePipeline(file: string, options: LoadOptions): Promise<RunnablePipeline> {
  const spec = await loadPipeline(file, options);
  const errors = trackingProblems(spec, { file });
  let remote: RemoteSpec | undefined;
  try {
    remote = chooseRemote(
      options.env ?? process.env,
      spec.cacheRemote?.written,
      spec.dir,
      spec.cacheRemote?.at ?? { file },
    );
  } catch (err) {
    if (!(err instanceof ParamflowError)) throw err;
    errors.push(err);
  }
  if (errors.length > 0) throw new InputErrors(errors);
  return remote ? { ...spec, cache: { remote } } : spec;
}

// MLflow's limits are checked before anything runs, not discovered mid-run.
function trackingProblems(spec: PipelineSpec, fileLocation: SourceLocation): ParamflowError[] {
  const errors: ParamflowError[] = [];
  for (const problem of mlflowKeyProblems(pipelineParamKeys(spec.resolved))) {
    errors.push(
      new ParamflowError('PF_SCHEMA', problem, {
        location: fileLocation,
        hint: 'MLflow keys use letters, digits, `_ - . : /` and spaces, up to 250 characters: rename the stage or parameter',
      }),
    );
  }
  const name = experimentNameProblem(spec.tracking.experiment);
  if (name)
    errors.push(
      new ParamflowError('PF_SCHEMA', name, {
        location: fileLocation,
        hint: 'set tracking.experiment or MLFLOW_EXPERIMENT_NAME',
      }),
    );
  const bad = spec.tracking.uri ? trackingUriProblem(spec.tracking.uri) : undefined;
  if (bad)
    errors.push(new ParamflowError('PF_BAD_FLAG', bad, { location: spec.trackingUriAt, hint: TRACKING_URI_HINT }));
  return errors;
}

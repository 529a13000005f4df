import type { Layout } from '../../project/layout.js';
import { ParamflowError } from '../../util/errors.js';
import type { Env } from './auth.js';
import { clientFromEnv } from './client.js';
import { createModelVersion, ensureRegisteredModel } from './model-api.js';
import { mlflowState } from './sync-state.js';

export interface Registered {
  name: string;
  version: string;
  modelId: string;
  /** What `mlflow.pyfunc.load_model` takes for this version. */
  uri: string;
}

/**
 * A run's logged model as a new version of registered model `name` (created if missing) in
 * MLflow's Model Registry. The run must be in MLflow with its model (its spool synced).
 */
export async function registerRunModel(layout: Layout, runId: string, name: string, env: Env): Promise<Registered> {
  const at = { file: '<command line>' };
  const state = await mlflowState(layout, { kind: 'run', id: runId });
  if (!state.mlflowRunId || !state.server)
    throw new ParamflowError('PF_BAD_REF', `run ${runId} is not in MLflow (${state.label})`, {
      location: at,
      hint: state.state === 'off' ? 'run it with MLFLOW_TRACKING_URI set' : 'send it first: `paramflow sync`',
    });
  const uri = env.MLFLOW_TRACKING_URI || state.server;
  const client = clientFromEnv(env, uri, {});
  try {
    const run = await client.getRun(state.mlflowRunId);
    const modelId = run.data?.tags?.find((t) => t.key === 'paramflow.model_id')?.value;
    if (!modelId)
      throw new ParamflowError('PF_BAD_REF', `MLflow run ${state.mlflowRunId} (${runId}) has no logged model`, {
        location: at,
        hint: "a run with a train stage logs one on MLflow 3 servers; older servers keep it as the run's model/ artifacts",
      });
    await ensureRegisteredModel(client, name);
    const { version } = await createModelVersion(client, { name, modelId, runId: state.mlflowRunId });
    return { name, version, modelId, uri: `models:/${name}/${version}` };
  } finally {
    await client.close().catch(() => undefined);
  }
}

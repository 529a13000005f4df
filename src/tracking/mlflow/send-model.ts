import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { CallOptions, MlflowClient } from './client.js';
import {
  createLoggedModel,
  finalizeLoggedModel,
  findLoggedModels,
  isMissingRoute,
  logModelOutput,
  type LoggedModelInfo,
} from './model-api.js';
import { contentTypeOf, type TrackOp } from './ops.js';

// Sending a `logged-model` op: one op, several requests. Replayed after a lost answer
// (`check`), the model the first attempt created is found by its run and name and finished,
// never made twice; uploads are PUTs, so sending a file again is harmless.

export async function sendLoggedModel(
  s: { client: MlflowClient; root: string; experimentId: string; log?: (line: string) => void },
  runId: string,
  op: Extract<TrackOp, { op: 'logged-model' }>,
  check: boolean,
  call: CallOptions,
): Promise<void> {
  const c = s.client;
  let model: LoggedModelInfo | undefined;
  try {
    if (check) model = (await findLoggedModels(c, s.experimentId, runId, op.name, call))[0];
    model ??= await createLoggedModel(
      c,
      { experimentId: s.experimentId, name: op.name, sourceRunId: runId, modelType: op.modelType },
      call,
    );
  } catch (err) {
    if (!isMissingRoute(err)) throw err;
    s.log?.(
      "MLflow: this server has no logged models (MLflow 3 adds them); the model stays in the run's artifacts: runs:/<run id>/model",
    );
    return;
  }
  for (const f of op.files) {
    let body: Buffer = await readFile(isAbsolute(f.file) ? f.file : join(s.root, f.file));
    // The id is known only now: MLflow's loader reports it from the MLmodel file.
    if (f.path === 'MLmodel') body = Buffer.concat([body, Buffer.from(`model_id: ${model.model_id}\n`)]);
    await c.uploadArtifact(model.artifact_uri, f.path, body, contentTypeOf(f.path), call);
  }
  await finalizeLoggedModel(c, model.model_id, call);
  await logModelOutput(c, runId, model.model_id, call);
  await c.setTag(runId, 'paramflow.model_id', model.model_id, call);
}

import { ParamflowError } from '../../util/errors.js';
import type { RunRecord } from '../run-record.js';
import type { MlflowClient } from './client.js';
import { isMlflowError } from './errors.js';
import { RUN_SCOPE, SWEEP_SCOPE } from './ops.js';
import type { Run } from './types.js';
import { runUrl } from './uri.js';

// Reading back what the tracker logged (mapping.ts): the MLflow run that stands for a
// paramflow run carries the `paramflow.run_id` tag and the artifacts `run.json` and
// `pipeline.yaml` (the resolved pipeline) at the root of its artifacts.

/** The artifact paths mapping.ts uploads for every pipeline run. */
export const RUN_JSON_ARTIFACT = 'run.json';
export const PIPELINE_ARTIFACT = 'pipeline.yaml';

export interface MlflowRunRef {
  runId: string;
  experimentId: string;
  url: string;
}

export interface FetchedRun {
  /** The MLflow run that stands for the whole paramflow run (a fold's parent, when a fold run was named). */
  run: Run;
  ref: MlflowRunRef;
  /** Its `paramflow.run_id` tag. */
  paramflowRunId: string;
}

const where = { file: '<command line>' };

/** The MLflow run `id` and the paramflow run it records; bad input when it is not one paramflow logged. */
export async function fetchMlflowRun(client: MlflowClient, id: string, uri: string): Promise<FetchedRun> {
  let run = await getRun(client, id);
  let tags = tagsOf(run);
  const scope = tags.get('paramflow.scope');
  if (scope === SWEEP_SCOPE) {
    throw new ParamflowError(
      'PF_BAD_REF',
      `MLflow run ${id} is a sweep's parent run (sweep ${tags.get('paramflow.sweep_id') ?? '?'}), not one pipeline run`,
      {
        location: where,
        hint: 'name one of its trial runs (nested under it in the MLflow UI), or the sweep id for `paramflow compare`',
      },
    );
  }
  // A fold's nested run: its artifacts (run.json, pipeline.yaml) are on the pipeline run above it.
  const parent = tags.get('mlflow.parentRunId');
  if (scope !== undefined && scope !== RUN_SCOPE && parent) {
    run = await getRun(client, parent);
    tags = tagsOf(run);
  }
  const paramflowRunId = tags.get('paramflow.run_id');
  if (!paramflowRunId) {
    throw new ParamflowError(
      'PF_BAD_REF',
      `MLflow run ${id} was not logged by paramflow (it has no paramflow.run_id tag)`,
      {
        location: where,
        hint: 'name a run that `paramflow run` logged (its MLflow page shows the paramflow.run_id tag)',
      },
    );
  }
  const runId = run.info.run_id;
  return {
    run,
    paramflowRunId,
    ref: { runId, experimentId: run.info.experiment_id, url: runUrl(uri, run.info.experiment_id, runId) },
  };
}

/** The run record and resolved pipeline the tracker uploaded with the run. */
export async function downloadRunRecord(
  client: MlflowClient,
  fetched: FetchedRun,
): Promise<{ record: RunRecord; pipelineYaml?: string }> {
  const root = fetched.run.info.artifact_uri;
  const name = `MLflow run ${fetched.ref.runId}`;
  if (!root) throw missingArtifacts(name, 'it has no artifact root');
  const text = await download(client, root, RUN_JSON_ARTIFACT);
  if (text === undefined) throw missingArtifacts(name, `it has no ${RUN_JSON_ARTIFACT} artifact`);
  const record = parseRecord(text, name);
  const pipelineYaml = await download(client, root, PIPELINE_ARTIFACT);
  return { record, ...(pipelineYaml !== undefined ? { pipelineYaml } : {}) };
}

async function getRun(client: MlflowClient, id: string): Promise<Run> {
  try {
    return await client.getRun(id);
  } catch (err) {
    if (isMlflowError(err, 'RESOURCE_DOES_NOT_EXIST')) {
      throw new ParamflowError(
        'PF_BAD_REF',
        `no local run matches \`${id}\`, and MLflow at ${client.server} has no run with that id`,
        {
          location: where,
          hint: "`paramflow runs` lists the local runs; an MLflow run id is the 32 hex digits in the run page's URL",
          cause: err,
        },
      );
    }
    throw err;
  }
}

/** The artifact's text, or undefined when the server has no such file (MLflow answers 500 for that). */
async function download(client: MlflowClient, root: string, path: string): Promise<string | undefined> {
  try {
    return (await client.downloadArtifact(root, path, { retry: false })).toString('utf8');
  } catch (err) {
    if (isMlflowError(err) && err.kind === 'status' && (err.status === 500 || err.status === 404)) return undefined;
    throw err;
  }
}

function parseRecord(text: string, name: string): RunRecord {
  let r: Partial<RunRecord>;
  try {
    r = JSON.parse(text) as Partial<RunRecord>;
  } catch (err) {
    throw new ParamflowError('PF_BAD_DATA', `the ${RUN_JSON_ARTIFACT} artifact of ${name} is not JSON`, {
      location: where,
      hint: 'the artifact is damaged; the local store of the machine that ran it has the original',
      cause: err,
    });
  }
  if (
    typeof r !== 'object' ||
    r === null ||
    typeof r.runId !== 'string' ||
    typeof r.runHash !== 'string' ||
    typeof r.stages !== 'object' ||
    typeof r.resolved !== 'object'
  ) {
    throw new ParamflowError(
      'PF_BAD_DATA',
      `the ${RUN_JSON_ARTIFACT} artifact of ${name} is not a paramflow run record`,
      {
        location: where,
        hint: 'it was not written by paramflow, or by a version whose records this one cannot read',
      },
    );
  }
  return r as RunRecord;
}

function missingArtifacts(name: string, why: string): ParamflowError {
  return new ParamflowError('PF_BAD_REF', `${name} cannot be read back: ${why}`, {
    location: where,
    hint: 'run.json is uploaded when the run ends: a run still going, or killed before its end, has none until `paramflow sync` on the machine that ran it',
  });
}

function tagsOf(run: Run): Map<string, string> {
  return new Map((run.data.tags ?? []).map((t) => [t.key, t.value]));
}

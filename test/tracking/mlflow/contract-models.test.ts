import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlflowDouble } from '../../helpers/mlflow-double.js';
import { readTranscripts, replay, type Transcript } from '../../helpers/transcripts.js';

// The double's MLflow 3 logged models, dataset inputs, run outputs and registry answer the
// recorded requests (transcripts-models.jsonl, from a real 3.6 server) as the server did:
// same status, same error_code, same top-level keys. In order, with the recorded ids of
// experiments, runs and models replaced by the double's. Only what paramflow calls is
// replayed; the rest (aliases, searches by name or metric, deletes, downloads, the Python
// client's own calls) is recorded for reference.

const transcripts = readTranscripts('transcripts-models.jsonl');

const endpoint = (t: Transcript) => t.path.split('?')[0]!.replace(/m-[0-9a-f]{32}/g, '{model}');
const filterOf = (t: Transcript) => (t.request_body as { filter?: string } | null)?.filter;
// What paramflow sends (model-api.ts), and the routes a server without them answers with HTML.
const replayed = (t: Transcript, i: number) => {
  const e = endpoint(t);
  if (i > 97) return false; // from here on: the Python client loading models
  if (['/api/2.0/mlflow/experiments/create', '/api/2.0/mlflow/runs/create'].includes(e)) return true;
  if (/\/runs\/(log-inputs|outputs|log-outputs|get)$/.test(e)) return true;
  // Deleting is not replayed, nor the GET that shows it.
  if (e === '/api/2.0/mlflow/logged-models' || /logged-models\/\{model\}$/.test(e))
    return t.method !== 'DELETE' && !t.label.includes('deleted');
  if (e.endsWith('/logged-models/search'))
    return filterOf(t) === undefined
      ? (t.request_body as { max_results?: number }).max_results === undefined
      : /^source_run_id = |nonsense/.test(filterOf(t)!);
  if (/\/(registered-models|model-versions)\/create$/.test(e))
    return !String((t.request_body as { source?: string }).source ?? '').includes('..');
  if (e.startsWith('/api/2.0/mlflow-artifacts/artifacts/1/models/')) return t.method === 'PUT';
  return /nope|no-such-endpoint/.test(e);
};

describe('the MLflow double against the recorded logged-model, dataset and registry transcripts', () => {
  let double: MlflowDouble;
  const ids = new Map<string, string>();
  const swap = (s: string) => [...ids].reduce((acc, [rec, real]) => acc.split(rec).join(real), s);

  beforeAll(async () => {
    double = await MlflowDouble.start();
  });
  afterAll(() => double.down());

  it('has the 217 recorded pairs', () => {
    expect(transcripts).toHaveLength(217);
  });

  for (const [i, t] of transcripts.entries()) {
    if (!replayed(t, i)) continue;
    it(`${t.status} ${t.label}`, async () => {
      const { res, text } = await replay(double.url, t, swap);
      expect(res.status).toBe(t.status);
      if (t.response_content_type.startsWith('text/html')) {
        expect(res.headers.get('content-type')).toContain('text/html');
        return;
      }
      const got = JSON.parse(text) as Record<string, any>;
      const want = t.response_body as Record<string, any>;
      if ('error_code' in want) {
        expect(got.error_code).toBe(want.error_code);
        return;
      }
      expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
      if (want.run) {
        expect(Object.keys(got.run.inputs ?? {}).sort()).toEqual(Object.keys(want.run.inputs ?? {}).sort());
        expect(Object.keys(got.run.outputs ?? {}).sort()).toEqual(Object.keys(want.run.outputs ?? {}).sort());
        for (const k of ['dataset_inputs', 'model_outputs'] as const) {
          const part = k === 'dataset_inputs' ? 'inputs' : 'outputs';
          expect(got.run[part]?.[k]?.length, k).toBe(want.run[part]?.[k]?.length);
        }
        if (want.run.inputs?.dataset_inputs)
          expect(got.run.inputs.dataset_inputs.map((d: any) => d.dataset.profile)).toEqual(
            want.run.inputs.dataset_inputs.map((d: any) => d.dataset.profile),
          );
      }
      if (want.models) expect(got.models.length).toBe(want.models.length);
      if (want.model?.info) {
        expect(got.model.info.status).toBe(want.model.info.status);
        expect(got.model.info.artifact_uri).toMatch(/^mlflow-artifacts:\/\d+\/models\/m-[0-9a-f]{32}\/artifacts$/);
      }
      const recorded = (o: any) => o?.run?.info?.run_id ?? o?.model?.info?.model_id ?? o?.experiment_id;
      if (t.method === 'POST' && recorded(want) && recorded(got)) ids.set(recorded(want), recorded(got));
    });
  }
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlflowDouble } from '../helpers/mlflow-double.js';
import { mlflowView, type MlflowView } from '../helpers/mlflow-runs.js';
import { paramflow, quickProject } from '../helpers/project.js';

// quick.yaml through the CLI against the MLflow test double (which enforces the
// recorded contract): online, then with the server down for the whole run and a sync.
const FAST = ['--set', 'train.epochs=5'];

async function run(dir: string, uri: string) {
  const r = await paramflow(dir, ['run', 'pipeline.yaml', '--json', ...FAST], { env: { MLFLOW_TRACKING_URI: uri } });
  expect(r.exitCode, String(r.stderr)).toBe(0);
  return { runId: (JSON.parse(String(r.stdout)) as { runId: string }).runId, stderr: String(r.stderr) };
}

/** A view without the clock: timestamps and durations differ between two executions, nothing else may. */
function timeless(view: Record<string, MlflowView>) {
  const clockless = (k: string, value: string) =>
    k.endsWith('.seconds')
      ? '<s>'
      : k === 'paramflow.model_id'
        ? '<model id>'
        : k === 'mlflow.note.content'
          ? value.replace(/\d+\.\d s\b/g, '<s>')
          : value;
  return Object.fromEntries(
    Object.entries(view).map(([scope, v]) => [
      scope,
      {
        ...v,
        tags: Object.fromEntries(Object.entries(v.tags).map(([k, value]) => [k, clockless(k, value)])),
        histories: Object.fromEntries(
          Object.entries(v.histories).map(([k, h]) => [k, h.map(([step, , value]) => [step, value])]),
        ),
      },
    ]),
  );
}

let double: MlflowDouble;
beforeAll(async () => {
  double = await MlflowDouble.start();
});
afterAll(async () => {
  await double.down();
});

describe('MLflow tracking from `paramflow run`', () => {
  let online: { runId: string; view: Record<string, MlflowView>; dir: string };

  it('logs the experiment, params, per-epoch curves, nested fold runs and artifacts', async () => {
    const dir = quickProject();
    const { runId, stderr } = await run(dir, double.url);
    expect(stderr).toMatch(/logged to MLflow/);
    expect([...double.store.experiments.values()].map((e) => e.name)).toContain('quick');
    const view = mlflowView(double, runId);
    online = { runId, view, dir };
    const top = view.run!;
    expect(top.status).toBe('FINISHED');
    expect(top.params).toMatchObject({
      'train.batch_size': '64',
      'simulate.n': '1000',
      'simulate.model': 'exponential-decay',
    });
    expect(top.tags['paramflow.run_hash']).toMatch(/^[0-9a-f]{64}$/);
    expect(top.histories.cv_rmse_mean).toHaveLength(1);
    const folds = Object.keys(view).filter((s) => s !== 'run');
    expect(folds.length).toBeGreaterThanOrEqual(4);
    const fold0 = Object.values(view).find((v) => v.histories.loss && v.histories['rmse.A']);
    expect(fold0?.histories.loss!.map(([step]) => step)).toEqual(
      [1, 2, 3, 4, 5].slice(0, fold0!.histories.loss!.length),
    );
    expect(top.artifacts).toEqual(
      expect.arrayContaining(['pipeline.yaml', 'run.json', 'evaluate/plots/pred-vs-true.png']),
    );
    // The folds' mean curve on the run; each stage's status; a description leading with the objective.
    expect(top.histories['val_loss.mean']!.map(([step]) => step)).toEqual([1, 2, 3, 4, 5]);
    expect(top.tags['paramflow.stage.train.status']).toBe('executed');
    expect(top.tags['mlflow.note.content']).toMatch(/^\*\*cv_rmse_mean = /);

    // Each fold's run was made as the fold started and ended with it: folds train one after
    // another, so each starts no earlier than the one before ended (no fold has the run's times).
    const all = [...double.store.runs.values()].filter((r) => r.tags.get('paramflow.run_id') === runId);
    const parent = all.find((r) => r.tags.get('paramflow.scope') === 'run')!;
    const foldRuns = all
      .filter((r) => r.tags.get('paramflow.scope')!.startsWith('fold-'))
      .sort((a, b) => a.start_time - b.start_time);
    for (const f of foldRuns) expect(f.run_name).toBe(`${parent.run_name} ${f.tags.get('paramflow.scope')}`);
    for (const [i, f] of foldRuns.entries()) {
      expect(f.end_time).toBeGreaterThanOrEqual(f.start_time);
      expect(f.end_time).toBeLessThan(parent.end_time!);
      if (i > 0) expect(f.start_time).toBeGreaterThanOrEqual(foldRuns[i - 1]!.end_time!);
    }
    expect(foldRuns[0]!.start_time).toBeGreaterThan(parent.start_time);

    // Small arrays beside their stage: the out-of-fold predictions, the targets, the folds.
    expect(top.artifacts).toEqual(
      expect.arrayContaining(['evaluate/predictions.npy', 'simulate/targets.npy', 'folds/folds.npy']),
    );

    // The fold models as an MLflow pyfunc model: under the run's artifacts (runs:/<id>/model)
    // and as a READY logged model linked as the run's output (models:/<model id>).
    expect(top.artifacts).toEqual(
      expect.arrayContaining([
        'model/MLmodel',
        'model/code/paramflow_pyfunc.py',
        'model/data/grid.json',
        'model/data/scalers.json',
        'model/data/fold-0/model.json',
        'model/data/fold-0/weights.bin',
      ]),
    );
    const models = double.store.models;
    const model = models.models.get(top.tags['paramflow.model_id']!)!;
    // Named as its run is (`quick <hash>`): a sweep's models differ in the Models tab.
    expect(model).toMatchObject({ status: 'LOGGED_MODEL_READY', source_run_id: parent.run_id, name: parent.run_name });
    expect(models.outputs.get(parent.run_id)).toEqual([{ model_id: model.model_id, step: 0 }]);
    const mlmodel = double.store.artifacts.get(`${model.artifact_uri.replace('mlflow-artifacts:/', '')}/MLmodel`);
    expect(String(mlmodel)).toContain(`model_id: ${model.model_id}`);
    expect(String(mlmodel)).toContain('loader_module: paramflow_pyfunc');

    // The data stages as dataset inputs, each digest the start of its cache key.
    const record = JSON.parse(readFileSync(join(dir, '.paramflow', 'runs', runId, 'run.json'), 'utf8')) as {
      stages: Record<string, { key: string }>;
    };
    const inputs = (models.runParts(parent.run_id).inputs.dataset_inputs ?? []) as {
      dataset: { name: string; digest: string; profile: string };
      tags: { key: string; value: string }[];
    }[];
    expect(inputs.map((i) => i.dataset.name)).toEqual(['simulate', 'noise', 'folds']);
    for (const i of inputs) expect(i.dataset.digest).toBe(record.stages[i.dataset.name]!.key.slice(0, 36));
    expect(JSON.parse(inputs[1]!.dataset.profile).arrays.X).toEqual([1000, expect.any(Number)]);

    const listed = JSON.parse(String((await paramflow(dir, ['runs', '--json'])).stdout)) as {
      mlflow: { state: string; runId: string };
    }[];
    expect(listed[0]!.mlflow.state).toBe('synced');
    expect(listed[0]!.mlflow.runId).toMatch(/^[0-9a-f]+$/);
  });

  it('with the server down for the whole run: the run finishes, `sync` makes it equal to the online one, a second sync changes nothing', async () => {
    const dir = quickProject();
    await double.down();
    let spooled: string;
    try {
      const { runId, stderr } = await run(dir, double.url);
      spooled = runId;
      expect(stderr).toMatch(/tracking pending/);
      const listed = JSON.parse(String((await paramflow(dir, ['runs', '--json'])).stdout)) as {
        mlflow: { state: string };
      }[];
      expect(listed[0]!.mlflow.state).toBe('pending');
    } finally {
      await double.up();
    }
    const sync = await paramflow(dir, ['sync'], { env: { MLFLOW_TRACKING_URI: double.url } });
    expect(sync.exitCode, String(sync.stderr)).toBe(0);
    expect(sync.stdout).toMatch(new RegExp(`${spooled}: synced`));
    const view = mlflowView(double, spooled);
    expect(timeless(view)).toEqual(timeless(online.view));

    const before = JSON.stringify(
      [...double.store.runs.values()].map((r) => [r.run_id, r.metrics.length, [...r.params], [...r.tags]]),
    );
    const again = await paramflow(dir, ['sync'], { env: { MLFLOW_TRACKING_URI: double.url } });
    expect(again.exitCode).toBe(0);
    expect(
      JSON.stringify(
        [...double.store.runs.values()].map((r) => [r.run_id, r.metrics.length, [...r.params], [...r.tags]]),
      ),
    ).toBe(before);
  });

  it("`register` adds the run's logged model to the Model Registry, a new version each time", async () => {
    const env = { MLFLOW_TRACKING_URI: double.url };
    const first = await paramflow(online.dir, ['register', online.runId, '--name', 'curves', '--json'], { env });
    expect(first.exitCode, String(first.stderr)).toBe(0);
    const modelId = online.view.run!.tags['paramflow.model_id'];
    expect(JSON.parse(String(first.stdout))).toEqual({
      name: 'curves',
      version: '1',
      modelId,
      uri: 'models:/curves/1',
    });
    const again = await paramflow(online.dir, ['register', online.runId, '--name', 'curves'], { env });
    expect(String(again.stdout)).toContain('registered curves version 2');
    expect(
      double.store.models.registered.get('curves')!.versions.map((v) => [v.version, v.model_id, v.source]),
    ).toEqual([
      ['1', modelId, `models:/${modelId}`],
      ['2', modelId, `models:/${modelId}`],
    ]);
    // A run that never went to MLflow: bad input, nothing registered.
    const local = quickProject();
    const { runId } = JSON.parse(
      String((await paramflow(local, ['run', 'pipeline.yaml', '--json', ...FAST])).stdout),
    ) as {
      runId: string;
    };
    const off = await paramflow(local, ['register', runId, '--name', 'curves'], { env });
    expect(off.exitCode).toBe(2);
    expect(String(off.stderr)).toMatch(/is not in MLflow[\s\S]*MLFLOW_TRACKING_URI/);
    expect(double.store.models.registered.get('curves')!.versions).toHaveLength(2);
  });

  it("on a server without logged models (before MLflow 3): the model stays in the run's artifacts, the log says so, nothing is left pending", async () => {
    double.withoutLoggedModels = true;
    try {
      const dir = quickProject();
      const { runId, stderr } = await run(dir, double.url);
      expect(stderr).toMatch(/this server has no logged models \(MLflow 3 adds them\)/);
      const view = mlflowView(double, runId);
      expect(view.run!.artifacts).toEqual(expect.arrayContaining(['model/MLmodel', 'model/data/fold-0/weights.bin']));
      expect(view.run!.tags['paramflow.model_id']).toBeUndefined();
      const listed = JSON.parse(String((await paramflow(dir, ['runs', '--json'])).stdout)) as {
        mlflow: { state: string };
      }[];
      expect(listed[0]!.mlflow.state).toBe('synced');
    } finally {
      double.withoutLoggedModels = false;
    }
  });

  it('refuses a file: tracking URI before anything runs (exit 2)', async () => {
    const dir = quickProject();
    const r = await paramflow(dir, ['run', 'pipeline.yaml'], { env: { MLFLOW_TRACKING_URI: 'file:///tmp/mlruns' } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/mlflow server/);
    expect(JSON.parse(String((await paramflow(dir, ['runs', '--json'])).stdout))).toEqual([]);
  });
});

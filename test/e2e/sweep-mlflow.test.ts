import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SweepRecord } from '../../src/tracking/sweep-record.js';
import { MlflowDouble } from '../helpers/mlflow-double.js';
import type { DoubleRun } from '../helpers/mlflow-double-store.js';
import { paramflow, quickProject } from '../helpers/project.js';

// A sweep through the CLI against the MLflow test double: one parent run for the sweep,
// the trials' runs nested under it, their folds under them (sweep → trial → fold), the
// parent carrying the best trial's values and objective. Online, then with the server
// down for the whole sweep and a `paramflow sync` afterwards: the same tree.
const SMALL = ['--set', 'simulate.n=240', '--set', 'simulate.x.points=40', '--set', 'train.epochs=2'];
const SWEEP = ['--sweep', 'train.batch_size=16,32'];

async function sweep(dir: string, uri: string) {
  const r = await paramflow(dir, ['run', 'pipeline.yaml', '--json', ...SMALL, ...SWEEP, '--jobs', '2'], {
    env: { MLFLOW_TRACKING_URI: uri },
  });
  expect(r.exitCode, String(r.stderr)).toBe(0);
  return { record: JSON.parse(String(r.stdout)) as SweepRecord, stderr: String(r.stderr) };
}

interface Node {
  name: string;
  status: string;
  params: Record<string, string>;
  metrics: Record<string, number[]>;
  tags: Record<string, string>;
  children: Node[];
}

/** The sweep's runs in the double as a tree through `mlflow.parentRunId` (ids and times left out). */
function tree(double: MlflowDouble, sweepId: string): { root: Node; runs: DoubleRun[] } {
  const all = [...double.store.runs.values()];
  const parents = all.filter(
    (r) => r.tags.get('paramflow.sweep_id') === sweepId && r.tags.get('paramflow.scope') === 'sweep',
  );
  expect(parents).toHaveLength(1);
  const node = (r: DoubleRun): Node => ({
    name: r.run_name,
    status: r.status,
    params: Object.fromEntries(r.params),
    metrics: Object.fromEntries(
      [...new Set(r.metrics.map((m) => m.key))].map((k) => [
        k,
        r.metrics.filter((m) => m.key === k).map((m) => m.value),
      ]),
    ),
    tags: Object.fromEntries(
      [...r.tags].filter(([k]) =>
        [
          'paramflow.scope',
          'paramflow.trial',
          'paramflow.sweep_id',
          'paramflow.best_trial',
          'paramflow.best_replicates',
          'mlflow.runName',
        ].includes(k),
      ),
    ),
    children: all
      .filter((c) => c.tags.get('mlflow.parentRunId') === r.run_id)
      .map(node)
      .sort((a, b) => a.name.localeCompare(b.name)),
  });
  return { root: node(parents[0]!), runs: all };
}

function checkTree(root: Node, record: SweepRecord) {
  // the parent: the sweep, named for it, with the best trial's values and objective
  expect(root.name).toBe(`quick sweep ${record.sweepId.slice('sweep-'.length, 'sweep-'.length + 15)}`);
  expect(root.status).toBe('FINISHED');
  const best = record.best!;
  expect(root.tags['paramflow.best_trial']).toBe(best.trial);
  expect(root.params['train.batch_size']).toBe(String(best.values['train.batch_size']));
  expect(root.params['sweep.grid.train.batch_size']).toBe('[16,32]');
  // The objective's history is the best so far after each trial, in trial order: its last value the best.
  const means = record.trials.map((t) => t.objective!.mean);
  expect(root.metrics.cv_rmse_mean).toEqual(means.map((_, i) => Math.min(...means.slice(0, i + 1))));
  // One replicate per trial: no spread to log (a 0 would read as "no spread"), and the count says why.
  expect(best.objective.n).toBe(1);
  expect(root.metrics.cv_rmse_mean_std).toBeUndefined();
  expect(root.tags['paramflow.best_replicates']).toBe('1');
  expect(root.metrics.cv_rmse_mean!.at(-1)).toBe(best.objective.mean);

  // the trials: named by the value that varies, the objective on each, folds nested below
  expect(root.children.map((c) => c.name)).toEqual(['batch_size=16', 'batch_size=32']);
  for (const trial of root.children) {
    const rec = record.trials.find((t) => t.id === trial.tags['paramflow.trial'])!;
    expect(trial.name).toBe(`batch_size=${String(rec.values['train.batch_size'])}`);
    expect(trial.status).toBe('FINISHED');
    expect(trial.tags['paramflow.sweep_id']).toBe(record.sweepId);
    expect(trial.params['train.batch_size']).toBe(String(rec.values['train.batch_size']));
    expect(trial.metrics.cv_rmse_mean).toEqual([rec.objective!.mean]);
    expect(trial.children.length).toBeGreaterThanOrEqual(2);
    for (const fold of trial.children) {
      expect(fold.name).toMatch(new RegExp(`^${trial.name} fold-\\d+$`));
      expect(fold.status).toBe('FINISHED');
      expect(fold.children).toEqual([]);
    }
  }
}

/** The parent run's artifact files (path → bytes). */
function parentArtifacts(double: MlflowDouble, sweepId: string): Map<string, Buffer> {
  const parent = [...double.store.runs.values()].find(
    (r) => r.tags.get('paramflow.sweep_id') === sweepId && r.tags.get('paramflow.scope') === 'sweep',
  )!;
  const prefix = `${parent.experiment_id}/${parent.run_id}/artifacts/`;
  return new Map(
    [...double.store.artifacts].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]),
  );
}

function checkObjectivePlots(double: MlflowDouble, dir: string, sweepId: string) {
  const files = parentArtifacts(double, sweepId);
  expect([...files.keys()].sort()).toEqual([
    'plots/cv_rmse_mean-vs-train.batch_size.png',
    'plots/cv_rmse_mean-vs-train.batch_size.svg',
    'sweep.json',
    'sweep.yaml',
  ]);
  const svg = files.get('plots/cv_rmse_mean-vs-train.batch_size.svg')!.toString('utf8');
  expect(svg).toMatch(/^<svg[\s\S]*cv_rmse_mean vs train\.batch_size[\s\S]*<\/svg>$/);
  expect(svg).toBe(
    readFileSync(join(dir, '.paramflow', 'sweeps', sweepId, 'plots', 'cv_rmse_mean-vs-train.batch_size.svg'), 'utf8'),
  );
  expect(files.get('plots/cv_rmse_mean-vs-train.batch_size.png')!.subarray(0, 8)).toEqual(
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  );
}

/** The tree without what differs between two executions (names of the parent, values learnt with other timings are equal). */
const shape = (n: Node): unknown => ({
  name: n.name.replace(/^quick sweep .*/, 'quick sweep'),
  status: n.status,
  params: Object.keys(n.params).sort(),
  metrics: Object.fromEntries(Object.entries(n.metrics).map(([k, v]) => [k, v.length])),
  children: n.children.map(shape),
});

let double: MlflowDouble;
beforeAll(async () => {
  double = await MlflowDouble.start();
});
afterAll(async () => {
  await double.down();
});

describe('a sweep in MLflow', () => {
  let online: Node;

  it('is one parent run with the trials nested under it and their folds under them; the parent has the best trial', async () => {
    const dir = quickProject();
    const { record, stderr } = await sweep(dir, double.url);
    expect(stderr).toMatch(new RegExp(`sweep ${record.sweepId}: logged to MLflow`));
    expect(record.trials).toHaveLength(2);
    const { root } = tree(double, record.sweepId);
    checkTree(root, record);
    checkObjectivePlots(double, dir, record.sweepId);
    online = root;
    const listed = JSON.parse(String((await paramflow(dir, ['runs', '--json'])).stdout)) as {
      mlflow: { state: string };
    }[];
    expect(listed.map((r) => r.mlflow.state)).toEqual(['synced', 'synced']);
  }, 180_000);

  it('with the server down for the whole sweep: everything is spooled, and `paramflow sync` builds the same tree; a second sync changes nothing', async () => {
    const dir = quickProject();
    await double.down();
    let record: SweepRecord;
    try {
      const out = await sweep(dir, double.url);
      record = out.record;
      expect(out.stderr).toMatch(/tracking pending/);
    } finally {
      await double.up();
    }
    expect([...double.store.runs.values()].some((r) => r.tags.get('paramflow.sweep_id') === record.sweepId)).toBe(
      false,
    );

    const sync = await paramflow(dir, ['sync'], { env: { MLFLOW_TRACKING_URI: double.url } });
    expect(sync.exitCode, String(sync.stdout) + String(sync.stderr)).toBe(0);
    expect(sync.stdout).toMatch(new RegExp(`${record.sweepId}: synced`));
    const { root } = tree(double, record.sweepId);
    checkTree(root, record);
    checkObjectivePlots(double, dir, record.sweepId);
    expect(shape(root)).toEqual(shape(online));

    const before = JSON.stringify(double.snapshot());
    const requests = double.requests.length;
    const again = await paramflow(dir, ['sync'], { env: { MLFLOW_TRACKING_URI: double.url } });
    expect(again.exitCode).toBe(0);
    expect(JSON.stringify(double.snapshot())).toBe(before);
    expect(double.requests.length).toBe(requests);
  }, 240_000);
});

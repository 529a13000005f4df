import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SweepRecord } from '../../src/tracking/sweep-record.js';
import { MlflowDouble } from '../helpers/mlflow-double.js';
import type { DoubleRun } from '../helpers/mlflow-double-store.js';
import { paramflow, quickProject } from '../helpers/project.js';
import { startWorker } from '../helpers/queue-worker.js';
import { hasRedis, startRedis, type RedisServer } from '../helpers/redis.js';

// A queued sweep in MLflow: the submitting `paramflow run` logs the sweep's parent run as a
// local sweep does, and the trials' runs, logged by workers in other folders (as other
// machines, with no MLflow settings of their own), nest under it with their folds.
const SMALL = ['--set', 'simulate.n=240', '--set', 'simulate.x.points=40', '--set', 'train.epochs=2'];

describe.skipIf(!hasRedis)('a queued sweep in MLflow (real redis-server, MLflow test double)', () => {
  let redis: RedisServer;
  let double: MlflowDouble;
  beforeAll(async () => {
    redis = await startRedis();
    double = await MlflowDouble.start();
  }, 30_000);
  afterAll(async () => {
    await double?.down();
    await redis?.stop();
  });

  /** Two workers in two folders, a 2-trial sweep submitted from a third; the workers are stopped after it. */
  async function queuedSweep(queue: string) {
    const shared = mkdtempSync(join(tmpdir(), 'pf-shared-'));
    // The workers know nothing of MLflow: the server's address comes with each job.
    const env = {
      PARAMFLOW_REDIS_URL: redis.url,
      PARAMFLOW_QUEUE: queue,
      PARAMFLOW_CACHE_REMOTE: shared,
      MLFLOW_TRACKING_URI: '',
      MLFLOW_EXPERIMENT_NAME: '',
    };
    const [submitter, a, b] = [quickProject(), quickProject(), quickProject()];
    const workers = [startWorker(a, env), startWorker(b, env)];
    await Promise.all(workers.map((w) => w.line(/serving queue/)));
    const r = await paramflow(
      submitter,
      ['run', 'pipeline.yaml', '--json', '--executor', 'queue', ...SMALL, '--sweep', 'train.batch_size=16,32'],
      {
        env: { PARAMFLOW_REDIS_URL: redis.url, PARAMFLOW_QUEUE: queue, MLFLOW_TRACKING_URI: double.url },
      },
    );
    const logs = `${String(r.stderr)}\n--- workers:\n${workers.map((w) => w.log()).join('\n---\n')}`;
    expect(r.exitCode, logs).toBe(0);
    for (const w of workers) w.proc.kill('SIGTERM');
    for (const w of workers) expect((await w.proc).exitCode).toBe(0);
    return {
      record: JSON.parse(String(r.stdout)) as SweepRecord,
      stderr: String(r.stderr),
      logs,
      dirs: { submitter, a, b },
    };
  }

  function checkTree(record: SweepRecord, logs: string) {
    const all = [...double.store.runs.values()];
    const parents = all.filter(
      (x) => x.tags.get('paramflow.sweep_id') === record.sweepId && x.tags.get('paramflow.scope') === 'sweep',
    );
    expect(parents).toHaveLength(1);
    const parent = parents[0]!;
    const children = (run: DoubleRun) =>
      all
        .filter((x) => x.tags.get('mlflow.parentRunId') === run.run_id)
        .sort((p, q) => p.run_name.localeCompare(q.run_name));
    const metric = (run: DoubleRun, key: string) => run.metrics.filter((m) => m.key === key).map((m) => m.value);

    // the parent: the best trial's values and objective, finished
    expect(parent.status).toBe('FINISHED');
    const best = record.best!;
    expect(parent.tags.get('paramflow.best_trial')).toBe(best.trial);
    // The parent's objective: the best so far after each trial, in trial order; its last value the best.
    const means = record.trials.map((t) => t.objective!.mean);
    expect(metric(parent, 'cv_rmse_mean')).toEqual(means.map((_, i) => Math.min(...means.slice(0, i + 1))));
    expect(metric(parent, 'cv_rmse_mean').at(-1)).toBe(best.objective.mean);
    expect(best.objective.mean).toBe(Math.min(...record.trials.map((t) => t.objective!.mean)));

    // the trials, logged by the workers, nested under it in the same experiment
    const trials = children(parent);
    expect(
      trials.map((t) => t.run_name),
      logs,
    ).toEqual(['batch_size=16', 'batch_size=32']);
    for (const trial of trials) {
      const rec = record.trials.find((t) => t.id === trial.tags.get('paramflow.trial'))!;
      expect(trial.experiment_id).toBe(parent.experiment_id);
      expect(trial.status).toBe('FINISHED');
      expect(trial.tags.get('paramflow.sweep_id')).toBe(record.sweepId);
      expect(trial.tags.get('paramflow.run_id')).toBe(rec.replicates[0]!.runId);
      expect(metric(trial, 'cv_rmse_mean')).toEqual([rec.objective!.mean]);
      const folds = children(trial);
      expect(folds.length).toBeGreaterThanOrEqual(2);
      for (const fold of folds) {
        expect(fold.run_name).toBe(`${trial.run_name} ${fold.tags.get('paramflow.scope')}`);
        expect(fold.status).toBe('FINISHED');
      }
    }
    // Nothing was logged outside the tree (no trial run without its parent).
    expect(
      all.filter(
        (x) => x.tags.get('paramflow.sweep_id') === record.sweepId && x !== parent && !x.tags.has('mlflow.parentRunId'),
      ),
    ).toEqual([]);
  }

  it('one parent run with both trials nested under it and their folds under them; the parent has the best trial', async () => {
    const { record, stderr, logs } = await queuedSweep('mlflow');
    expect(stderr).toMatch(new RegExp(`sweep ${record.sweepId}: logged to MLflow`));
    checkTree(record, logs);
  }, 300_000);

  it('a plain run (no sweep) through the queue: the worker logs it in the experiment resolved by the submitter, with its folds under it and no parent', async () => {
    const env = {
      PARAMFLOW_REDIS_URL: redis.url,
      PARAMFLOW_QUEUE: 'mlflow-plain',
      MLFLOW_TRACKING_URI: '',
      MLFLOW_EXPERIMENT_NAME: '',
    };
    const [submitter, a] = [quickProject(), quickProject()];
    const w = startWorker(a, env);
    await w.line(/serving queue/);
    const r = await paramflow(submitter, ['run', 'pipeline.yaml', '--json', '--executor', 'queue', ...SMALL], {
      env: {
        PARAMFLOW_REDIS_URL: redis.url,
        PARAMFLOW_QUEUE: 'mlflow-plain',
        MLFLOW_TRACKING_URI: double.url,
        MLFLOW_EXPERIMENT_NAME: 'plain-queued',
      },
    });
    expect(r.exitCode, `${String(r.stderr)}\n--- worker:\n${w.log()}`).toBe(0);
    w.proc.kill('SIGTERM');
    expect((await w.proc).exitCode).toBe(0);
    const { runId } = JSON.parse(String(r.stdout)) as { runId: string };
    const all = [...double.store.runs.values()];
    const runs = all.filter((x) => x.tags.get('paramflow.run_id') === runId && !x.tags.has('mlflow.parentRunId'));
    expect(runs, w.log()).toHaveLength(1);
    const run = runs[0]!;
    expect(double.store.experiments.get(run.experiment_id)?.name).toBe('plain-queued');
    expect(run.status).toBe('FINISHED');
    expect(run.tags.has('paramflow.sweep_id')).toBe(false);
    expect(
      all
        .filter((x) => x.tags.get('mlflow.parentRunId') === run.run_id)
        .map((f) => f.run_name)
        .sort(),
    ).toEqual(['fold-0', 'fold-1', 'fold-2', 'fold-3'].map((f) => `${run.run_name} ${f}`));
  }, 300_000);

  it("with the server down for the whole sweep: `paramflow sync` in the submitter's folder, then in each worker's, builds the same tree", async () => {
    await double.down();
    let out: Awaited<ReturnType<typeof queuedSweep>>;
    try {
      out = await queuedSweep('mlflow-down');
    } finally {
      await double.up();
    }
    const { record, logs, dirs } = out;
    expect([...double.store.runs.values()].some((x) => x.tags.get('paramflow.sweep_id') === record.sweepId)).toBe(
      false,
    );
    for (const dir of [dirs.submitter, dirs.a, dirs.b]) {
      const sync = await paramflow(dir, ['sync'], { env: { MLFLOW_TRACKING_URI: double.url } });
      expect(sync.exitCode, String(sync.stdout) + String(sync.stderr)).toBe(0);
    }
    checkTree(record, logs);
  }, 300_000);
});

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SweepRecord } from '../../src/tracking/sweep-record.js';
import { makeProject, paramflow, runRecord, TRAINED_PIPELINE } from '../helpers/project.js';
import { hasRedis, useRedis } from '../helpers/redis.js';
import { startWorker } from '../helpers/queue-worker.js';
import { MlflowDouble } from '../helpers/mlflow-double.js';

/** A small model trained 8 epochs; TPE over batch size and learning rate, ASHA from epoch 1. */
const STUDY = TRAINED_PIPELINE.replace('epochs: 2', 'epochs: 8');
const SWEEP = `sweep:
  tpe: { startup: 3 }
  grid:
    train.batch_size: [8, 16, 32]
  random:
    params:
      train.optimizer.adam.lr: { loguniform: [0.0001, 0.05] }
  budget: { trials: 7 }
  prune: { method: asha, min_epochs: 1, reduction_factor: 2 }
`;

async function sweep(dir: string, extra: string[] = [], env: Record<string, string> = {}) {
  const r = await paramflow(dir, ['run', 'pipeline.yaml', '--json', '--jobs', '1', ...extra], { env });
  expect(r.exitCode, String(r.stderr)).toBe(0);
  return { record: JSON.parse(String(r.stdout)) as SweepRecord, stderr: String(r.stderr) };
}

const escape = (text: string) =>
  text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/'/g, '&#39;')
    .replace(/"/g, '&quot;');
const pruned = (s: SweepRecord) => s.trials.filter((t) => t.replicates[0]!.status === 'PRUNED');
const decisions = (s: SweepRecord) =>
  s.trials.map((t) => [t.id, t.replicates[0]!.status, t.replicates[0]!.pruned?.epoch ?? null]);

describe('a TPE sweep with ASHA pruning (real worker processes)', () => {
  let dir: string;
  let first: SweepRecord;
  let stderr: string;
  beforeAll(async () => {
    dir = makeProject(STUDY + SWEEP);
    ({ record: first, stderr } = await sweep(dir));
  }, 300_000);

  it('proposes the budget, prunes some trials with the reason, and finishes (exit 0)', async () => {
    expect(first.status).toBe('FINISHED');
    expect(first.trials).toHaveLength(7);
    expect(first.stopped).toBe('budget: 7 trials');
    const stopped = pruned(first);
    expect(stopped.length).toBeGreaterThan(0);
    expect(stopped.length).toBeLessThan(7);
    for (const t of stopped) {
      const r = t.replicates[0]!;
      expect(r.pruned!.reason).toMatch(
        /^fold 0 val_loss \S+ after \d+ epochs is not among the best \d+ of the \d+ trials/,
      );
      expect(stderr).toContain(`trial ${t.id} pruned after ${r.pruned!.epoch} epochs`);
      // Its run says so too: PRUNED, where and why; its training ended at the rung.
      const run = await runRecord(dir, r.runId!);
      expect(run.status).toBe('PRUNED');
      expect(run.pruned).toMatchObject({ stage: 'train', epoch: r.pruned!.epoch, reason: r.pruned!.reason });
      expect(run.stages.evaluate!.status).not.toBe('executed');
      // Pruned trials never enter the cache as a finished train stage.
      expect(existsSync(join(dir, '.paramflow', 'cache', run.stages.train!.key))).toBe(false);
    }
    expect(first.best).toBeDefined();
    expect(pruned(first).map((t) => t.id)).not.toContain(first.best!.trial);
  });

  it('shows pruned trials in runs --sweep', async () => {
    const r = await paramflow(dir, ['runs', '--sweep', first.sweepId]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    for (const t of pruned(first))
      expect(String(r.stdout)).toMatch(new RegExp(`${t.id}.*PRUNED at epoch ${t.replicates[0]!.pruned!.epoch}`));
  });

  it("the sweep's report shows the search: best so far, importance, fold 0 curves, and the pruned trials with why", async () => {
    const r = await paramflow(dir, ['report', first.sweepId]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const html = readFileSync(join(dir, '.paramflow', 'reports', `${first.sweepId}.html`), 'utf8');
    expect(html).toContain('The search');
    expect(html).toContain('in the order the search proposed them, and the best so far');
    expect(html).toMatch(/fold 0(&#39;|')s val_loss of every trial/);
    expect(html).toContain('Pruned trials');
    for (const t of pruned(first)) {
      expect(html).toContain(t.id);
      expect(html).toContain(escape(t.replicates[0]!.pruned!.reason));
    }
  });

  it('run again: the same proposals in the same order, finished trials from the cache, pruned ones not run again', async () => {
    const { record: again, stderr: log } = await sweep(dir);
    expect(decisions(again)).toEqual(decisions(first));
    for (const t of again.trials) {
      const r = t.replicates[0]!;
      if (r.status === 'PRUNED') {
        expect(r.pruned!.reusedFrom).toBeDefined();
        expect(log).toContain(`trial ${t.id} was pruned by an earlier run of this sweep`);
      } else {
        expect((await runRecord(dir, r.runId!)).stages.train!.status).toBe('cached');
      }
    }
    expect(again.best).toEqual(first.best);
  }, 300_000);

  it('a search stopped early and continued with a larger budget proposes the same trials and decisions', async () => {
    const project = makeProject(STUDY + SWEEP.replace('trials: 7', 'trials: 4'));
    const { record: part } = await sweep(project);
    expect(decisions(part)).toEqual(decisions(first).slice(0, 4));
    writeFileSync(join(project, 'pipeline.yaml'), STUDY + SWEEP);
    const { record: rest, stderr: log } = await sweep(project);
    expect(decisions(rest)).toEqual(decisions(first));
    for (const t of pruned(part)) expect(log).toContain(`trial ${t.id} was pruned by an earlier run of this sweep`);
  }, 300_000);

  it('a pruned trial run in full trains (no cache hit), from its checkpoint, to the same bits as from scratch', async () => {
    const t = pruned(first)[0]!;
    const sets = Object.entries(t.values).flatMap(([k, v]) => ['--set', `${k}=${JSON.stringify(v)}`]);
    const full = async (project: string) => {
      // The pipeline without its sweep, in the project whose cache holds the sweep's stages.
      writeFileSync(join(project, 'plain.yaml'), STUDY);
      const r = await paramflow(project, ['run', 'plain.yaml', '--json', ...sets]);
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const summary = JSON.parse(String(r.stdout)) as { status: string; executed: string[]; runId: string };
      expect(summary.status).toBe('FINISHED');
      expect(summary.executed).toContain('train');
      const log = readFileSync(join(project, '.paramflow', 'runs', summary.runId, 'logs', 'train.log'), 'utf8');
      return { record: await runRecord(project, summary.runId), log };
    };
    const after = await full(dir);
    expect(after.log).toMatch(/resuming from the checkpoint at fold 0/);
    const scratch = await full(makeProject(STUDY));
    expect(scratch.log).not.toMatch(/resuming/);
    expect(after.record.metrics).toEqual(scratch.record.metrics);
  }, 120_000);

  it('in MLflow: pruned trials KILLED with a paramflow.pruned tag, the parent with the best so far and the search figures', async () => {
    const double = await MlflowDouble.start();
    try {
      const project = makeProject(STUDY + SWEEP);
      const { record } = await sweep(project, [], { MLFLOW_TRACKING_URI: double.url });
      const runs = [...double.store.runs.values()];
      const parent = runs.find(
        (r) => r.tags.get('paramflow.sweep_id') === record.sweepId && r.tags.get('paramflow.scope') === 'sweep',
      )!;
      expect(parent.status).toBe('FINISHED');
      expect(parent.tags.get('paramflow.trials.pruned')).toBe(String(pruned(record).length));
      expect(parent.tags.get('paramflow.stopped')).toBe('budget: 7 trials');
      // The objective by trial number: the best so far, its last value the best trial's.
      const objective = parent.metrics.filter((m) => m.key === 'cv_rmse_mean').sort((a, b) => a.step - b.step);
      const scored = record.trials.flatMap((t, i) => (t.objective ? [[i + 1, t.objective.mean] as const] : []));
      expect(objective.map((m) => [m.step, m.value])).toEqual(
        scored.map(([step], i) => [step, Math.min(...scored.slice(0, i + 1).map(([, v]) => v))]),
      );
      const prefix = `${parent.experiment_id}/${parent.run_id}/artifacts/plots/`;
      const plots = [...double.store.artifacts.keys()]
        .filter((k) => k.startsWith(prefix))
        .map((k) => k.slice(prefix.length));
      expect(plots).toEqual(expect.arrayContaining(['cv_rmse_mean-best-so-far.png', 'fold0-val_loss-curves.png']));
      for (const t of pruned(record)) {
        const run = runs.find(
          (r) => r.tags.get('paramflow.trial') === t.id && r.tags.get('paramflow.scope') !== 'fold',
        )!;
        expect(run.status).toBe('KILLED');
        expect(run.tags.get('paramflow.pruned')).toBe(
          `epoch ${t.replicates[0]!.pruned!.epoch}: ${t.replicates[0]!.pruned!.reason}`,
        );
      }
    } finally {
      await double.down();
    }
  }, 300_000);

  describe.skipIf(!hasRedis)('through the queue executor (a real redis-server)', () => {
    const redis = useRedis();

    it('makes the same decisions, each recorded and explained', async () => {
      const env = { PARAMFLOW_REDIS_URL: redis.url(), PARAMFLOW_QUEUE: 'prune' };
      const workerDir = makeProject(STUDY + SWEEP);
      const w = startWorker(workerDir, env);
      try {
        await w.line(/serving queue/);
        const submitter = makeProject(STUDY + SWEEP);
        const { record } = await sweep(submitter, ['--executor', 'queue'], env);
        expect(record.status).toBe('FINISHED');
        // One worker takes one trial at a time: the order, and so every decision, is the local sweep's.
        expect(decisions(record)).toEqual(decisions(first));
        for (const t of pruned(record)) {
          const r = t.replicates[0]!;
          expect(r.pruned!.reason).toBe(pruned(first).find((x) => x.id === t.id)!.replicates[0]!.pruned!.reason);
          expect((await runRecord(submitter, r.runId!)).status).toBe('PRUNED');
        }
      } finally {
        w.proc.kill('SIGTERM');
        await w.proc;
      }
    }, 300_000);
  });
});

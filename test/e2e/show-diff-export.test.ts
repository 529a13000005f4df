import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDescription } from '../../src/report/describe-run.js';
import type { RunDiff } from '../../src/report/diff-runs.js';
import { snapshotTree } from '../helpers/cli.js';
import { MlflowDouble } from '../helpers/mlflow-double.js';
import { CLI, makeProject, runRecord, TRAINED_PIPELINE } from '../helpers/project.js';

// Only the MLflow variables a test names: a developer's shell must not change what runs.
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MLFLOW_')));

function pf(cwd: string, args: string[], env: Record<string, string> = {}) {
  return execa(process.execPath, [CLI, ...args], {
    cwd,
    reject: false,
    extendEnv: false,
    env: { ...cleanEnv, ...env },
  });
}

async function run(cwd: string, args: string[] = [], env: Record<string, string> = {}, file = 'pipeline.yaml') {
  const r = await pf(cwd, ['run', file, '--json', ...args], env);
  expect(r.exitCode, String(r.stderr)).toBe(0);
  return JSON.parse(String(r.stdout)) as { runId: string; runHash: string };
}

async function json<T>(cwd: string, args: string[], env: Record<string, string> = {}): Promise<T> {
  const r = await pf(cwd, [...args, '--json'], env);
  expect(r.exitCode, String(r.stderr)).toBe(0);
  return JSON.parse(String(r.stdout)) as T;
}

describe('paramflow show, diff and export (local runs)', () => {
  const dir = makeProject(TRAINED_PIPELINE);
  let a: { runId: string; runHash: string };

  beforeAll(async () => {
    a = await run(dir);
  });

  it('show --json: pipeline, hash, stages with keys, versions and metrics, run metrics, artifacts, environment', async () => {
    const d = await json<RunDescription>(dir, ['show', a.runId.slice(0, 22)]);
    const rec = await runRecord(dir, a.runId);
    expect(d).toMatchObject({
      source: 'local',
      runId: a.runId,
      runHash: a.runHash,
      status: 'FINISHED',
      pipeline: { name: 'small', file: 'pipeline.yaml', experiment: 'small' },
      mlflow: null,
    });
    expect(d.stages.map((s) => [s.name, s.type, s.key, s.version, s.status])).toEqual(
      Object.entries(rec.stages).map(([n, s]) => [n, s.type, s.key, s.details.version, 'executed']),
    );
    expect(d.params).toMatchObject({
      seed: 3,
      'simulate.n': 64,
      'train.batch_size': 16,
      'train.layers.0.dense.units': 8,
    });
    expect(Object.keys(d.metrics)[0]).toBe('cv_rmse_mean');
    expect(d.metrics.cv_rmse_mean).toBe(rec.metrics.cv_rmse_mean);
    expect(d.stages.find((s) => s.name === 'evaluate')!.metrics.cv_rmse_mean).toBe(rec.metrics.cv_rmse_mean);
    expect(d.artifacts.run.map((f) => f.path)).toContain('train/history.json');
    expect(d.artifacts.cache.filter((f) => f.stage === 'simulate').map((f) => [f.file, f.size, f.cached])).toEqual(
      Object.entries(rec.stages.simulate!.files!).map(([f, m]) => [f, m.size, true]),
    );
    expect(d.environment).toEqual(rec.environment);
    expect(d.environment.backend?.name).toBeTruthy();
  });

  it('show prints the same in words', async () => {
    const r = await pf(dir, ['show', a.runHash.slice(0, 10)]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(r.stdout).toContain(`run ${a.runId}`);
    expect(r.stdout).toContain(`run hash    ${a.runHash}`);
    expect(r.stdout).toMatch(/^train\s+train\s+[0-9a-f]{12}\s+1\s+executed/m);
    expect(r.stdout).toMatch(/^cv_rmse_mean\s+\d/m);
    expect(r.stdout).toMatch(/^train\.batch_size\s+16$/m);
    expect(r.stdout).toMatch(/^train\/history\.json\s+\d/m);
    expect(r.stdout).toMatch(/mlflow\s+\(not logged to MLflow\)/);
  });

  it('diff of runs differing only in train.batch_size names that param, and exactly train and evaluate (through its input)', async () => {
    const b = await run(dir, ['--set', 'train.batch_size=32']);
    const d = await json<RunDiff>(dir, ['diff', a.runId, b.runId]);
    expect(d.sameHash).toBe(false);
    expect(d.firstDivergent).toBe('train');
    expect(d.changedByItself).toEqual(['train']);
    expect(d.changedByInputs).toEqual(['evaluate']);
    expect(d.stages.find((s) => s.stage === 'train')!.changes).toEqual([
      { kind: 'param', path: 'train.batch_size', from: 16, to: 32 },
    ]);
    expect(d.stages.find((s) => s.stage === 'evaluate')!.changes).toEqual([
      expect.objectContaining({ kind: 'input', stage: 'train' }),
    ]);
    expect(d.stages.filter((s) => s.verdict === 'same').map((s) => s.stage)).toEqual(['simulate', 'noise', 'folds']);
    expect(d.environment).toEqual([]);
    const ra = await runRecord(dir, a.runId);
    const rb = await runRecord(dir, b.runId);
    expect(d.metrics.cv_rmse_mean).toEqual({
      a: ra.metrics.cv_rmse_mean,
      b: rb.metrics.cv_rmse_mean,
      delta: rb.metrics.cv_rmse_mean! - ra.metrics.cv_rmse_mean!,
      deltaPct: expect.any(Number),
    });

    const text = await pf(dir, ['diff', a.runId, b.runId]);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/^train\s+\S+\s+\S+\s+changed \(first\)\s+param train\.batch_size 16 → 32$/m);
    expect(text.stdout).toMatch(/^evaluate\s+\S+\s+\S+\s+inputs changed\s+input train changed/m);
    expect(text.stdout).toContain('diverges first at: train');
  });

  it('diff of runs differing in the pipeline seed names every stage whose derived seed changed', async () => {
    const c = await run(dir, ['--set', 'seed=4']);
    const d = await json<RunDiff>(dir, ['diff', a.runId, c.runId]);
    const ra = await runRecord(dir, a.runId);
    const rc = await runRecord(dir, c.runId);
    const seeded = Object.keys(ra.stages).filter(
      (n) => ra.stages[n]!.details.params.seed !== rc.stages[n]!.details.params.seed,
    );
    expect(seeded.length).toBeGreaterThan(0);
    expect(d.changedByItself).toEqual(seeded);
    for (const n of seeded) {
      expect(d.stages.find((s) => s.stage === n)!.changes).toContainEqual({
        kind: 'param',
        path: `${n}.seed`,
        from: ra.stages[n]!.details.params.seed,
        to: rc.stages[n]!.details.params.seed,
      });
    }
    expect(d.firstDivergent).toBe(seeded[0]);
    expect(d.pipeline).toEqual([{ key: 'seed', a: 3, b: 4 }]);
  });

  it('export writes pipeline.yaml and summaries; running the export in another project gives the same run hash', async () => {
    const out = join(dir, 'exported');
    const r = await pf(dir, ['export', a.runId, 'exported']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    for (const f of ['pipeline.yaml', 'summary.md', 'summary.json']) expect(existsSync(join(out, f))).toBe(true);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
      run: RunDescription;
      rerun: { runHash: string };
    };
    expect(summary.run.runHash).toBe(a.runHash);
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).toContain(a.runHash);

    const other = makeProject('');
    const { copyFileSync } = await import('node:fs');
    copyFileSync(join(out, 'pipeline.yaml'), join(other, 'exported.yaml'));
    const again = await run(other, [], {}, 'exported.yaml');
    expect(again.runHash).toBe(a.runHash);
  });

  it('export refuses a non-empty folder (exit 2, hint --force) without touching it; --force overwrites', async () => {
    const before = await snapshotTree(join(dir, 'exported'));
    const r = await pf(dir, ['export', a.runId, 'exported']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/error PF_BAD_FLAG: exported is not empty/);
    expect(r.stderr).toMatch(/hint: .*--force/);
    expect(await snapshotTree(join(dir, 'exported'))).toEqual(before);
    expect((await pf(dir, ['export', a.runId, 'exported', '--force'])).exitCode).toBe(0);
  });

  it('a bad reference is bad input (exit 2) and changes nothing in the cache or run store', async () => {
    const before = await snapshotTree(join(dir, '.paramflow'));
    for (const args of [
      ['show', 'nope'],
      ['diff', a.runId, 'nope'],
      ['export', 'nope', 'x'],
      ['show', '0123456789abcdef0123456789abcdef'],
    ]) {
      const r = await pf(dir, args);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/error PF_BAD_REF: /);
      expect(r.stderr).toMatch(/hint: /);
    }
    expect(await snapshotTree(join(dir, '.paramflow'))).toEqual(before);
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });
});

describe('show and diff with MLflow run ids, from a project whose run store is empty', () => {
  let double: MlflowDouble;
  beforeAll(async () => {
    double = await MlflowDouble.start();
  });
  afterAll(() => double.down());

  it('downloads the runs from MLflow: show, diff and export work from the MLflow run ids', async () => {
    const env = { MLFLOW_TRACKING_URI: double.url };
    const projectA = makeProject(TRAINED_PIPELINE);
    const a = await run(projectA, [], env);
    const b = await run(projectA, ['--set', 'train.batch_size=32'], env);
    const listed = await json<{ runId: string; mlflow: { runId: string; url: string } }[]>(projectA, ['runs']);
    const mlflowOf = (id: string) => listed.find((r) => r.runId === id)!.mlflow;
    const [ma, mb] = [mlflowOf(a.runId), mlflowOf(b.runId)];
    expect(ma.runId).toMatch(/^[0-9a-f]{32}$/);

    // In project A the local record is shown, with its MLflow link.
    const local = await json<RunDescription>(projectA, ['show', a.runId]);
    expect(local.mlflow).toEqual({ runId: ma.runId, experimentId: expect.any(String), url: ma.url });
    expect(ma.url).toBe(`${double.url}/#/experiments/${local.mlflow!.experimentId}/runs/${ma.runId}`);

    const projectB = makeProject('');
    const storeB = await snapshotTree(join(projectB, '.paramflow'));
    const shown = await json<RunDescription>(projectB, ['show', ma.runId], env);
    expect(shown).toMatchObject({
      source: 'mlflow',
      runId: a.runId,
      runHash: a.runHash,
      mlflow: { runId: ma.runId, url: ma.url },
    });
    expect(shown.stages.map((s) => s.key)).toEqual(local.stages.map((s) => s.key));
    expect(shown.metrics).toEqual(local.metrics);
    const text = await pf(projectB, ['show', `runs:/${ma.runId}`], env);
    expect(text.stdout).toContain(ma.url);
    expect(text.stdout).toContain('read from MLflow');

    const d = await json<RunDiff>(projectB, ['diff', ma.runId, mb.runId], env);
    expect(d.changedByItself).toEqual(['train']);
    expect(d.changedByInputs).toEqual(['evaluate']);
    expect(d.stages.find((s) => s.stage === 'train')!.reasons).toEqual(['param train.batch_size 16 → 32']);

    const exp = await pf(projectB, ['export', ma.runId, 'from-mlflow'], env);
    expect(exp.exitCode, String(exp.stderr)).toBe(0);
    expect(readFileSync(join(projectB, 'from-mlflow', 'pipeline.yaml'), 'utf8')).toContain(a.runHash);
    expect(await snapshotTree(join(projectB, '.paramflow'))).toEqual(storeB);

    // Without the server's address, an MLflow id is bad input that says what to set.
    const noUri = await pf(projectB, ['show', ma.runId]);
    expect(noUri.exitCode).toBe(2);
    expect(noUri.stderr).toMatch(/hint: .*MLFLOW_TRACKING_URI/);
  });
});

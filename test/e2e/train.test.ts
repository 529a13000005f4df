import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nativeArithmetic } from '../../src/backend/native/addon.js';
import { paramflow, runJson, runRecord, quickProject } from '../helpers/project.js';

const r2s = (metrics: Record<string, number>) => Object.entries(metrics).filter(([k]) => /^r2\.[A-Z]+\.mean$/.test(k));

describe('quick.yaml end to end', () => {
  it('learns: R² > 0.9 on every target; records backend, metrics, plots; a rerun is all cached', async () => {
    const dir = quickProject();
    const run = await paramflow(dir, ['run', 'pipeline.yaml']);
    expect(run.exitCode, String(run.stderr)).toBe(0);
    expect(run.stderr).toMatch(/^backend (native|wasm|tfjs-node|cpu): /m);
    const listed = JSON.parse(String((await paramflow(dir, ['runs', '--json'])).stdout)) as {
      runId: string;
      metrics: string;
      backend: string;
    }[];
    expect(listed[0]!.metrics).toMatch(/^cv_rmse_mean=/);
    const rec = await runRecord(dir, listed[0]!.runId);
    expect(rec.environment.backend?.name).toBe(listed[0]!.backend);
    // On native the fused trainer and the addon's arithmetic are facts of the key too (each gives
    // other last bits); on any other backend (no addon built, PARAMFLOW_NO_NATIVE=1) neither is.
    const native =
      rec.environment.backend!.name === 'native' ? { trainer: 'fused-1', arithmetic: nativeArithmetic() } : {};
    expect(rec.stages.train!.details.env).toEqual({
      backend: rec.environment.backend!.name,
      tfjs: rec.environment.backend!.tfjs,
      ...native,
    });

    const r2 = r2s(rec.metrics);
    expect(r2.map(([k]) => k).sort()).toEqual(['r2.A.mean', 'r2.B.mean', 'r2.C.mean']);
    for (const [k, v] of r2) expect(v, k).toBeGreaterThan(0.9);
    expect(rec.stages.train!.folds).toHaveLength(4);
    expect(rec.stages.train!.folds![0]!.series.val_loss!.length).toBeGreaterThan(3);
    expect(Object.keys(rec.stages.evaluate!.files!)).toEqual(
      expect.arrayContaining([
        'plots/pred-vs-true.png',
        'plots/residuals.svg',
        'plots/learning-curves.png',
        'predictions.npy',
      ]),
    );
    const png = readFileSync(join(dir, '.paramflow', 'cache', rec.stages.evaluate!.key, 'plots', 'pred-vs-true.png'));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    // The run's own folder keeps its plots and metrics (they outlive `cache gc`).
    const kept = join(dir, '.paramflow', 'runs', rec.runId, 'artifacts', 'evaluate');
    expect(readFileSync(join(kept, 'plots', 'pred-vs-true.png')).equals(png)).toBe(true);
    expect(JSON.parse(readFileSync(join(kept, 'metrics.json'), 'utf8')).summary.cv_rmse_mean).toBe(
      rec.metrics.cv_rmse_mean,
    );

    const again = await runJson(dir);
    expect(again.executed).toEqual([]);
  });

  it('--no-cache twice gives identical weights and metrics on one backend', async () => {
    const dir = quickProject();
    const fast = ['--set', 'train.epochs=6', '--no-cache'];
    const a = await runRecord(dir, (await runJson(dir, fast)).runId);
    const b = await runRecord(dir, (await runJson(dir, fast)).runId);
    expect(b.stages.train!.files).toEqual(a.stages.train!.files);
    expect(b.metrics).toEqual(a.metrics);
  });

  it('Ctrl-C during training, then a rerun: resumes from the checkpoint and equals an uninterrupted run', async () => {
    // Folds 1–3 take seconds, so the Ctrl-C sent on seeing fold 0 end lands while they train,
    // however slowly the run's stderr reaches the test (12 epochs once ended first on a busy CI).
    const long = ['--set', 'train.epochs=150', '--set', 'train.early_stopping.patience=150'];
    const reference = quickProject();
    const ref = await runRecord(reference, (await runJson(reference, long)).runId);

    const dir = quickProject();
    // A checkpoint every epoch (the default is at most one per 10 s), so fold 0's end is saved.
    const proc = paramflow(dir, ['run', 'pipeline.yaml', ...long], {
      env: { PARAMFLOW_CHECKPOINT_SECONDS: '0' },
    });
    await new Promise<void>((resolve) => {
      let seen = '';
      proc.stderr!.on('data', (c: Buffer) => {
        seen += c.toString();
        if (/train: fold 0: best epoch/.test(seen)) resolve();
      });
    });
    proc.kill('SIGINT');
    const killed = await proc;
    expect(killed.exitCode).toBe(130);

    const resumed = await paramflow(dir, ['run', 'pipeline.yaml', ...long, '--json']);
    expect(resumed.exitCode, String(resumed.stderr)).toBe(0);
    expect(resumed.stderr).toMatch(/train: resuming from the checkpoint/);
    const rec = await runRecord(dir, (JSON.parse(String(resumed.stdout)) as { runId: string }).runId);
    expect(rec.stages.train!.status).toBe('executed');
    expect(rec.stages.train!.files).toEqual(ref.stages.train!.files);
    expect(rec.stages.evaluate!.files!['predictions.npy']).toEqual(ref.stages.evaluate!.files!['predictions.npy']);
  });

  it('a bad layer config fails at validate, located, before anything runs', async () => {
    const dir = quickProject();
    const r = await paramflow(dir, ['validate', 'pipeline.yaml', '--set', 'train.layers=[{dense: {units: 0}}]']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(
      /<command line>:1:\d+: error PF_SCHEMA: train\.layers\.0\.dense\.units must be ≥ 1, got 0/,
    );
    const act = await paramflow(dir, ['run', 'pipeline.yaml', '--set', 'train.layers.0.dense.activation=relu7']);
    expect(act.exitCode).toBe(2);
    expect(act.stderr).toMatch(/did you mean `relu`\?/);
  });
});

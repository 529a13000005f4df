import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { printedErrors, snapshotTree } from '../helpers/cli.js';
import { makeProject, paramflow, runJson, runRecord } from '../helpers/project.js';

// "Measured" curves y = A·exp(-B·x) on 12 points, 48 of them, with their known A and B.
function measured(): { curves: string; targets: string } {
  const xs = Array.from({ length: 12 }, (_, j) => j * 0.25);
  const params = Array.from({ length: 48 }, (_, i) => [0.5 + (i % 8) * 0.2, 0.1 + Math.floor(i / 8) * 0.15]);
  const rows = xs.map((x) => [x, ...params.map(([a, b]) => +(a! * Math.exp(-b! * x)).toFixed(5))].join(','));
  return {
    curves: `x,${params.map((_, i) => `y${i + 1}`).join(',')}\n${rows.join('\n')}\n`,
    targets: `A,B\n${params.map((p) => p.join(',')).join('\n')}\n`,
  };
}

const PIPELINE = `name: measured
seed: 5
stages:
  data:
    uses: load
    with: { curves: data/curves.csv, targets: data/params.csv }
  folds:
    uses: split-folds
    needs: [data]
    with: { k: 3 }
  train:
    uses: train
    needs: [data, folds]
    with:
      layers: [ { dense: { units: 8, activation: relu } }, { dense: { units: 2 } } ]
      epochs: 2
      batch_size: 16
  evaluate:
    uses: evaluate
    needs: [train, data, folds]
    with: { target_names: [A, B] }
`;

function project(files: { curves: string; targets: string }): string {
  const dir = makeProject(PIPELINE);
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data', 'curves.csv'), files.curves);
  writeFileSync(join(dir, 'data', 'params.csv'), files.targets);
  return dir;
}

describe('the load stage', () => {
  it('trains and evaluates on measured data; editing the data re-runs from load', async () => {
    const data = measured();
    const dir = project(data);
    const first = await runJson(dir);
    expect(first.executed.sort()).toEqual(['data', 'evaluate', 'folds', 'train']);
    const rec = await runRecord(dir, first.runId);
    expect(Object.keys(rec.stages.data!.details.files).sort()).toEqual(['data/curves.csv', 'data/params.csv']);
    expect(rec.metrics).toHaveProperty(['rmse.A.mean']);
    expect(Number.isFinite(rec.metrics.cv_rmse_mean)).toBe(true);

    expect((await runJson(dir)).executed).toEqual([]);
    writeFileSync(join(dir, 'data', 'params.csv'), data.targets.replace(/\n0\.5,0\.1\n/, '\n0.5,0.1001\n'));
    expect((await runJson(dir)).executed.sort()).toEqual(['data', 'evaluate', 'folds', 'train']);
  });

  it('evaluates models trained on simulated curves on the measured ones (evaluate measured: true)', async () => {
    const data = measured();
    const pipeline = `name: sim-to-real
seed: 5
stages:
  simulate:
    uses: simulate
    with:
      n: 96
      model: exponential-decay
      x: { start: 0, stop: 2.75, points: 12 }
      params: { A: { uniform: [0.5, 2] }, B: { uniform: [0.1, 0.9] }, C: { fixed: 0 } }
  folds: { uses: split-folds, needs: [simulate], with: { k: 3 } }
  train:
    uses: train
    needs: [simulate, folds]
    with: { layers: [ { dense: { units: 8, activation: relu } }, { dense: { units: 3 } } ], epochs: 2, batch_size: 16 }
  data:
    uses: load
    with: { curves: data/curves.csv, targets: data/params.csv }
  real:
    uses: evaluate
    needs: [train, data]
    with: { measured: true }
`;
    const dir = makeProject(pipeline);
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'curves.csv'), data.curves);
    writeFileSync(
      join(dir, 'data', 'params.csv'),
      data.targets.replace('A,B', 'A,B,C').replace(/\n(\S+,\S+)(?=\n)/g, '\n$1,0'),
    );
    const run = await runJson(dir);
    expect(run.executed.sort()).toEqual(['data', 'folds', 'real', 'simulate', 'train']);
    const rec = await runRecord(dir, run.runId);
    expect(Object.keys(rec.stages.real!.metrics!).sort()).toEqual(
      ['bias', 'mae', 'r2', 'rmse'].flatMap((m) => ['A', 'B', 'C'].map((t) => `${m}.${t}`)).sort(),
    );
    expect(rec.stages.real!.metrics!['rmse.A']).toBeGreaterThan(0);
    const metrics = JSON.parse(
      readFileSync(join(dir, '.paramflow', 'cache', rec.stages.real!.key, 'metrics.json'), 'utf8'),
    ) as { measured: { n: number } };
    expect(metrics.measured.n).toBe(48);
  });

  it('a malformed CSV is bad input located at its line and column, and nothing is written', async () => {
    const data = measured();
    const lines = data.curves.split('\n');
    lines[4] = lines[4]!.replace(/,([^,]+)$/, ',oops');
    const dir = project({ ...data, curves: lines.join('\n') });
    const before = await snapshotTree(join(dir, '.paramflow'));
    const r = await paramflow(dir, ['run', 'pipeline.yaml']);
    expect(r.exitCode, String(r.stderr)).toBe(2);
    const [err] = printedErrors(String(r.stderr));
    const column = lines[4]!.lastIndexOf(',') + 2;
    expect(err!.head).toBe(`data/curves.csv:5:${column}: error PF_BAD_DATA: not a number: "oops" in column y48`);
    expect(await snapshotTree(join(dir, '.paramflow'))).toEqual(before);
    const validate = await paramflow(dir, ['validate', 'pipeline.yaml']);
    expect(validate.exitCode).toBe(2);
  });

  it('missing data files are located at their keys in the pipeline', async () => {
    const dir = makeProject(PIPELINE);
    const r = await paramflow(dir, ['validate', 'pipeline.yaml']);
    expect(r.exitCode).toBe(2);
    expect(printedErrors(String(r.stderr)).map((e) => e.head)).toEqual([
      expect.stringMatching(/^pipeline\.yaml:6:21: error PF_SCHEMA: curves file "data\/curves\.csv" not found/),
      expect.stringMatching(/^pipeline\.yaml:6:47: error PF_SCHEMA: targets file "data\/params\.csv" not found/),
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { expandTrials } from '../../src/sweep/expand.js';
import { objectiveFigures } from '../../src/sweep/objective-figures.js';
import { formatValues } from '../../src/sweep/progress.js';
import { trialNamer } from '../../src/tracking/mlflow/sweep-mapping.js';
import { mapStart, newMappingState } from '../../src/tracking/mlflow/mapping.js';
import type { SweepRecord } from '../../src/tracking/sweep-record.js';
import { studyRecord } from '../helpers/mlflow-kit.js';

// A sweep key over named choices: the names stand for the values everywhere a person reads
// them (run names, MLflow params, plots, tables); the values alone make the trial (its id,
// its overrides, its stage keys).
const LINEAR = [{ dense: { units: 64, activation: 'relu' } }, { dense: { units: 4 } }];
const BN = [...LINEAR, { batch_norm: {} }];
const spec = {
  grid: { 'train.batch_size': [256, 16, 128], 'train.layers': { 'linear-output': LINEAR, 'bn-output': BN } },
  replicates: 1,
  objective: { metric: 'cv_rmse_mean', goal: 'minimize' as const },
};

describe('named choices in a sweep grid', () => {
  const trials = expandTrials(spec, 7);

  it('expand to the values, each trial labelled with its choice; the id is the same as for a plain list', () => {
    expect(trials).toHaveLength(6);
    const bn16 = trials.find((t) => t.values['train.batch_size'] === 16 && t.labels?.['train.layers'] === 'bn-output')!;
    expect(bn16.values['train.layers']).toEqual(BN);
    expect(bn16.labels).toEqual({ 'train.layers': 'bn-output' });
    const plain = expandTrials({ ...spec, grid: { ...spec.grid, 'train.layers': [LINEAR, BN] } }, 7);
    expect(plain.map((t) => t.id)).toEqual(trials.map((t) => t.id));
    expect(plain.every((t) => t.labels === undefined)).toBe(true);
  });

  it('name the runs, the progress lines and the MLflow params by the choice', () => {
    const name = trialNamer(trials, 1);
    expect(trials.map((t) => name(t, 0))).toContain('batch_size=16 layers=bn-output');
    const t = trials.find((x) => x.labels?.['train.layers'] === 'linear-output')!;
    expect(formatValues(t.values, t.labels)).toMatch(/train\.layers=linear-output$/);
    const record = studyRecord('r1');
    record.sweep = { sweep: 's', trial: t.id, replicate: 0, values: t.values, labels: t.labels! };
    const params = mapStart(record, { user: 'u', runDir: 'd', now: 0 }, newMappingState()).ops.flatMap((o) =>
      o.op === 'log-batch' ? o.params : [],
    );
    expect(params).toContainEqual({ key: 'train.layers.choice', value: 'linear-output' });
  });

  it('plot the choices by name, and numbers in numeric order on the axis and in the legend', () => {
    const sweep: SweepRecord = {
      format: 1,
      sweepId: 's',
      pipeline: { name: 'p', file: 'p.yaml', experiment: 'p' },
      spec,
      overrides: [],
      status: 'FINISHED',
      pid: 1,
      host: 'h',
      startedAt: '2026-12-06T00:00:00.000Z',
      trials: trials.map((t, i) => ({
        ...t,
        replicates: [],
        objective: { mean: 0.2 + i / 100, std: 0, n: 1 },
      })),
    };
    const [byBatch, byLayers] = objectiveFigures(sweep);
    const layer = (f: typeof byBatch) => (f!.spec as { layer: { encoding: Record<string, any> }[] }).layer.at(-1)!;
    expect(layer(byBatch).encoding.color.sort).toEqual(['linear-output', 'bn-output']);
    expect(layer(byLayers).encoding.x.sort).toEqual(['linear-output', 'bn-output']);
    expect(layer(byLayers).encoding.color.sort).toEqual(['16', '128', '256']);
    const data = (byLayers!.spec as { data: { values: { x: unknown }[] } }).data.values;
    expect(new Set(data.map((d) => d.x))).toEqual(new Set(['linear-output', 'bn-output']));
  });
});

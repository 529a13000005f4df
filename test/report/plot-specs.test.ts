import { describe, expect, it } from 'vitest';
import { objectiveVsParamSpec, type ObjectivePoint } from '../../src/plots/objective.js';
import { foldHistories } from '../../src/report/fold-histories.js';
import { renderSvg } from '../../src/report/render.js';
import type { FoldReport } from '../../src/stage-contract/types.js';
import { runRecord } from '../helpers/run-record.js';

const point = (trial: string, value: unknown, mean: number, std = 0, n = 1, group = 'all'): ObjectivePoint => ({
  trial,
  value,
  mean,
  std,
  n,
  group,
});

type Layer = {
  mark: { type: string };
  encoding: { x: { type: string; scale?: { type?: string }; axis?: { values?: number[] } }; color?: unknown };
};
const layers = (spec: unknown) => (spec as { layer: Layer[] }).layer;

describe('objectiveVsParamSpec', () => {
  it('numeric values: a line through the trials, a log axis across decades, ticks at the swept values, the best ringed', () => {
    const spec = objectiveVsParamSpec({
      key: 'train.batch_size',
      metric: 'cv_rmse_mean',
      goal: 'minimize',
      points: [point('a', 16, 0.3), point('b', 256, 0.5)],
      order: [16, 256],
      best: 'a',
    });
    expect(layers(spec).map((l) => l.mark.type)).toEqual(['line', 'point', 'point']);
    expect(layers(spec)[0]!.encoding.x.scale?.type).toBe('log');
    expect(layers(spec)[0]!.encoding.x.axis?.values).toEqual([16, 256]);
  });

  it('error bars only with replicates; colour by the other swept values', () => {
    const points = [
      point('a', 0, 0.3, 0.01, 2, 'x=1'),
      point('b', 0.05, 0.5, 0.02, 2, 'x=1'),
      point('c', 0, 0.4, 0.01, 2, 'x=2'),
    ];
    const spec = objectiveVsParamSpec({
      key: 'noise',
      metric: 'm',
      goal: 'minimize',
      points,
      order: [0, 0.05],
      groupTitle: 'x',
    });
    expect(layers(spec).map((l) => l.mark.type)).toEqual(['line', 'rule', 'point']);
    expect(layers(spec)[0]!.encoding.x.scale?.type).toBeUndefined();
    expect(layers(spec)[2]!.encoding.color).toEqual({ field: 'group', type: 'nominal', title: 'x' });
  });

  it('non-numeric values on an ordinal axis in sweep order, and it renders to SVG', async () => {
    const spec = objectiveVsParamSpec({
      key: 'train.optimizer',
      metric: 'm',
      goal: 'maximize',
      points: [point('a', { sgd: {} }, 1), point('b', 'adam', 2)],
      order: ['adam', { sgd: {} }],
    });
    expect(layers(spec)[0]!.encoding.x).toMatchObject({ type: 'ordinal', sort: ['adam', '{"sgd":{}}'] });
    const svg = await renderSvg(spec);
    expect(svg).toMatch(/^<svg /);
    expect(svg).toContain('m vs train.optimizer');
  });
});

describe('foldHistories', () => {
  it("reads the loss curves of the first stage that has them, in the evaluate plot's shape", () => {
    const pts = (vs: number[]) => vs.map((value, i) => ({ step: i + 1, value, timestamp: 0 }));
    const folds: FoldReport[] = [
      { fold: 0, metrics: { best_epoch: 2 }, series: { loss: pts([3, 2, 1]), val_loss: pts([4, 3]) } },
      { fold: 1, metrics: {}, series: { loss: pts([2, 1]), val_loss: pts([5, 4]) } },
    ];
    const run = runRecord('r', { simulate: 'k1', train: 'k2' });
    run.stages.train!.folds = folds;
    expect(foldHistories(run)).toEqual({
      stage: 'train',
      history: [
        {
          fold: 0,
          best_epoch: 2,
          stopped_epoch: 3,
          epochs: [
            { epoch: 1, loss: 3, val_loss: 4 },
            { epoch: 2, loss: 2, val_loss: 3 },
            { epoch: 3, loss: 1, val_loss: null },
          ],
        },
        {
          fold: 1,
          best_epoch: 2,
          stopped_epoch: 2,
          epochs: [
            { epoch: 1, loss: 2, val_loss: 5 },
            { epoch: 2, loss: 1, val_loss: 4 },
          ],
        },
      ],
    });
    expect(foldHistories(runRecord('s', { simulate: 'k1' }))).toBeUndefined();
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { loadTensorflow } from '../../../src/backend/load.js';
import { ParamflowError } from '../../../src/util/errors.js';
import { jsonArtifact, ndarray } from '../../../src/stage-contract/ndarray.js';
import type {
  FolderArtifact,
  JsonArtifact,
  NdArray,
  StageInputs,
  StageResult,
} from '../../../src/stage-contract/types.js';
import { evaluate, type EvaluateParams } from '../../../stages/evaluate/index.js';
import type { Scalers } from '../../../src/model/scalers.js';
import {
  evaluateContext,
  foldScaler,
  linearModelFolder,
  matrixArray,
  pngSize,
} from '../../helpers/evaluate-context.js';
import { TRAIN_BACKEND } from '../../helpers/train-context.js';

// Five curves of two points (x = 0, 1), two targets, folds 0, 1, 0, 1 and one holdout.
// Features are x0, x1, y0, y1. Two hand-set linear models:
//  fold 0: inputs per-feature (mean 0, 1, 1, 1; std 1, 1, 2, 1), so s0 = (y0 − 1)/2, s1 = y1 − 1;
//          z = (2·s0, s1 + 0.5); targets standardised (mean 3, 2; std 1, 2): pred = (z0 + 3, 2·z1 + 2).
//  fold 1: no input scaling, targets as they are: pred = (y0 + y1, y0 − y1 + 1).
const X = matrixArray([
  [0, 1],
  [0, 1],
  [0, 1],
  [0, 1],
  [0, 1],
]);
const Y = matrixArray([
  [1, 2],
  [2, 0],
  [3, 1],
  [0, 4],
  [1, 1],
]);
const TARGETS = matrixArray([
  [3, 1],
  [2, 5],
  [4, 2],
  [4, 3],
  [2, 2],
]);
const FOLDS = ndarray('int32', [5], Int32Array.from([0, 1, 0, 1, -1]));

const SCALERS: Scalers = {
  format: 1,
  features: 4,
  targetNames: ['A', 'B'],
  folds: [
    foldScaler({ mean: [0, 1, 1, 1], std: [1, 1, 2, 1] }, { mean: [3, 2], std: [1, 2], standardize: true }),
    // Fitted but not applied: cv_rmse_mean still scores fold 1 on targets standardised with it.
    foldScaler(null, { mean: [3, 4], std: [1, 4], standardize: false }),
  ],
};

const HISTORY = jsonArtifact({
  folds: [
    {
      fold: 0,
      best_epoch: 2,
      stopped_epoch: 3,
      epochs: [
        { epoch: 1, loss: 1, val_loss: 1.5, lr: 0.001 },
        { epoch: 2, loss: 0.5, val_loss: 0.9, lr: 0.001 },
        { epoch: 3, loss: 0.4, val_loss: 1, lr: 0.001 },
      ],
    },
    {
      fold: 1,
      best_epoch: 1,
      stopped_epoch: 2,
      epochs: [
        { epoch: 1, loss: 2, val_loss: 2.5, lr: 0.001 },
        { epoch: 2, loss: 1.5, val_loss: 2.6, lr: 0.001 },
      ],
    },
  ],
});

// Expected, by hand. Fold 0 validation rows 0, 2:
//   row 0: y (1, 2) → s (0, 1) → z (0, 1.5) → (3, 5); truth (3, 1): errors (0, 4)
//   row 2: y (3, 1) → s (1, 0) → z (2, 0.5) → (5, 3); truth (4, 2): errors (1, 1)
// Fold 1 validation rows 1, 3:
//   row 1: y (2, 0) → (2, 3); truth (2, 5): errors (0, −2)
//   row 3: y (0, 4) → (4, −3); truth (4, 3): errors (0, −6)
// Holdout row 4: y (1, 1) → fold 0 (3, 3), fold 1 (2, 1) → mean (2.5, 2).
const PREDICTIONS = [3, 5, 2, 3, 5, 3, 4, -3, 2.5, 2];

const FOLD_METRICS = [
  // A: errors 0, 1; truth 3, 4 (SS_tot 0.5, SS_res 1). B: errors 4, 1; truth 1, 2 (SS_tot 0.5, SS_res 17).
  {
    'rmse.A': Math.sqrt(0.5),
    'rmse.B': Math.sqrt(8.5),
    'mae.A': 0.5,
    'mae.B': 2.5,
    'r2.A': -1,
    'r2.B': -33,
    'bias.A': 0.5,
    'bias.B': 2.5,
  },
  // A: errors 0, 0; truth 2, 4 (SS_tot 2). B: errors −2, −6; truth 5, 3 (SS_tot 2, SS_res 40).
  { 'rmse.A': 0, 'rmse.B': Math.sqrt(20), 'mae.A': 0, 'mae.B': 4, 'r2.A': 1, 'r2.B': -19, 'bias.A': 0, 'bias.B': -4 },
];

// Two folds: mean (a + b)/2, sample std |a − b|/√2.
const SUMMARY = {
  'rmse.A.mean': 0.3535533906,
  'rmse.A.std': 0.5,
  'rmse.B.mean': 3.6938059512,
  'rmse.B.std': 1.1007248474,
  'mae.A.mean': 0.25,
  'mae.A.std': 0.3535533906,
  'mae.B.mean': 3.25,
  'mae.B.std': 1.0606601718,
  'r2.A.mean': 0,
  'r2.A.std': 1.4142135624,
  'r2.B.mean': -26,
  'r2.B.std': 9.8994949366,
  'bias.A.mean': 0.25,
  'bias.A.std': 0.3535533906,
  'bias.B.mean': -0.75,
  'bias.B.std': 4.5961940777,
  // Fold 0, standardised errors (0, 1)/1 and (4, 1)/2 → RMSE √0.5 and √2.125 → mean 1.0824223774.
  // Fold 1, standardised errors (0, 0)/1 and (−2, −6)/4 → RMSE 0 and √1.25 → mean 0.5590169944.
  cv_rmse_mean: 0.8207196859,
  cv_rmse_std: 0.3701034957,
};

const TOLERANCE = 1e-5;

function expectClose(actual: Readonly<Record<string, number>>, expected: Readonly<Record<string, number>>): void {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const [key, value] of Object.entries(expected)) {
    expect(Math.abs(actual[key]! - value), `${key}: ${actual[key]} vs ${value}`).toBeLessThan(TOLERANCE);
  }
}

const PARAMS: EvaluateParams = { plots: false, batch_size: 1024 };

describe('evaluate', () => {
  let model: FolderArtifact;
  let inputs: StageInputs;

  beforeAll(async () => {
    const rt = await loadTensorflow(TRAIN_BACKEND);
    model = await linearModelFolder(rt, [
      {
        kernel: [
          [0, 0],
          [0, 0],
          [2, 0],
          [0, 1],
        ],
        bias: [0, 0.5],
      },
      {
        kernel: [
          [0, 0],
          [0, 0],
          [1, 1],
          [1, -1],
        ],
        bias: [0, 1],
      },
    ]);
    inputs = { model, scalers: jsonArtifact(SCALERS as never), history: HISTORY, X, Y, targets: TARGETS, folds: FOLDS };
  });

  async function run(
    params: Partial<EvaluateParams> = {},
    overrides: Partial<Record<string, StageInputs[string] | undefined>> = {},
  ): Promise<StageResult> {
    const all = Object.fromEntries(
      Object.entries({ ...inputs, ...overrides }).filter(([, v]) => v !== undefined),
    ) as StageInputs;
    return evaluate.run(all, { ...PARAMS, ...params }, evaluateContext());
  }

  it('declares its inputs, outputs and backend use', () => {
    expect(evaluate.name).toBe('evaluate');
    expect(evaluate.inputs).toEqual(['model', 'scalers', 'history', 'X', 'Y', 'targets', 'folds']);
    expect(evaluate.optionalInputs).toEqual(['history']);
    expect(evaluate.outputs.map((o) => `${o.name}:${o.kind}`)).toEqual([
      'predictions:ndarray',
      'metrics:json',
      'plots:folder',
    ]);
    expect(evaluate.usesBackend).toBe(true);
  });

  it('predicts each dataset with its own fold model and the holdout with the mean of all', async () => {
    const predictions = (await run()).outputs.predictions as NdArray;
    expect(predictions.dtype).toBe('float32');
    expect(predictions.shape).toEqual([5, 2]);
    [...predictions.data].forEach((v, i) =>
      expect(Math.abs(v - PREDICTIONS[i]!), `value ${i}`).toBeLessThan(TOLERANCE),
    );
  });

  it('gives the same predictions whatever the batch size', async () => {
    const a = (await run({ batch_size: 1 })).outputs.predictions as NdArray;
    const b = (await run({ batch_size: 1024 })).outputs.predictions as NdArray;
    expect([...a.data]).toEqual([...b.data]);
  });

  it("reports per-fold metrics under the tracking keys (the learning curves are train's to report)", async () => {
    const result = await run();
    expect(result.folds?.map((f) => f.fold)).toEqual([0, 1]);
    result.folds!.forEach((f, i) => expectClose(f.metrics, FOLD_METRICS[i]!));
    expect(result.folds!.every((f) => Object.keys(f.series).length === 0)).toBe(true);
  });

  it('reports mean and std over folds and cv_rmse_mean as pipeline metrics', async () => {
    expectClose((await run()).metrics!, SUMMARY);
  });

  it('writes all of it to the metrics document', async () => {
    const doc = ((await run()).outputs.metrics as JsonArtifact).value as {
      target_names: string[];
      folds: { fold: number; n_validation: number; metrics: Record<string, number>; standardized_rmse: number }[];
      summary: Record<string, number>;
    };
    expect(doc.target_names).toEqual(['A', 'B']);
    expect(doc.folds.map((f) => [f.fold, f.n_validation])).toEqual([
      [0, 2],
      [1, 2],
    ]);
    doc.folds.forEach((f, i) => expectClose(f.metrics, FOLD_METRICS[i]!));
    expect(doc.folds[0]!.standardized_rmse).toBeCloseTo(1.0824223774, 5);
    expectClose(doc.summary, SUMMARY);
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });

  it('uses target_names in every key', async () => {
    const result = await run({ target_names: ['amp', 'decay'] });
    expect(Object.keys(result.folds![0]!.metrics)).toContain('rmse.decay');
    expect(result.metrics!['r2.amp.mean']).toBeCloseTo(0, 5);
    expect(((result.outputs.metrics as JsonArtifact).value as { target_names: string[] }).target_names).toEqual([
      'amp',
      'decay',
    ]);
  });

  it('refuses target_names of the wrong length, naming both counts', async () => {
    const err = await run({ target_names: ['A', 'B', 'C'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParamflowError);
    expect((err as ParamflowError).message).toMatch(/target_names has 3 names \(A, B, C\) but `targets` has 2 columns/);
    expect((err as ParamflowError).hint).toMatch(/give 2 names.*A, B/);
  });

  it('works without a history: no series, no learning-curve plot', async () => {
    const result = await run({ plots: true }, { history: undefined });
    expect(result.folds!.every((f) => Object.keys(f.series).length === 0)).toBe(true);
    expect(Object.keys((result.outputs.plots as FolderArtifact).files).sort()).toEqual([
      'pred-vs-true.png',
      'pred-vs-true.svg',
      'residuals.png',
      'residuals.svg',
    ]);
  });

  it('leaves the plots folder empty with plots: false', async () => {
    expect((await run({ plots: false })).outputs.plots).toEqual({ kind: 'folder', files: {} });
  });

  it('renders the plots as valid SVG and PNG files naming the targets', async () => {
    const files = ((await run({ plots: true, target_names: ['amp', 'decay'] })).outputs.plots as FolderArtifact).files;
    expect(Object.keys(files).sort()).toEqual(
      ['learning-curves', 'pred-vs-true', 'residuals'].flatMap((n) => [`${n}.png`, `${n}.svg`]),
    );
    for (const name of ['pred-vs-true', 'residuals', 'learning-curves']) {
      const svg = Buffer.from(files[`${name}.svg`]!).toString('utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
      const size = pngSize(files[`${name}.png`]!);
      expect(size, `${name}.png`).toBeDefined();
      expect(size!.width).toBeGreaterThan(100);
      expect(size!.height).toBeGreaterThan(100);
    }
    for (const name of ['pred-vs-true', 'residuals']) {
      const svg = Buffer.from(files[`${name}.svg`]!).toString('utf8');
      expect(svg).toContain('amp');
      expect(svg).toContain('decay');
    }
    expect(Buffer.from(files['learning-curves.svg']!).toString('utf8')).toContain('val_loss');
  });

  it('refuses a model folder that lacks a fold', async () => {
    const partial: FolderArtifact = {
      kind: 'folder',
      files: Object.fromEntries(Object.entries(model.files).filter(([p]) => p.startsWith('fold-0/'))),
    };
    await expect(run({}, { model: partial })).rejects.toThrow(/no fold-1\/model.json \(folds has 2 folds\)/);
  });

  it('refuses scalers fitted on other data', async () => {
    const wrong = jsonArtifact({ ...SCALERS, features: 6 } as never);
    await expect(run({}, { scalers: wrong })).rejects.toThrow(/fitted on 6 features but X and Y give 4/);
  });

  it('refuses a model whose output does not match the targets', async () => {
    const rt = await loadTensorflow(TRAIN_BACKEND);
    const three = await linearModelFolder(
      rt,
      [0, 1].map(() => ({
        kernel: [
          [0, 0, 0],
          [0, 0, 0],
          [0, 0, 0],
          [0, 0, 0],
        ],
        bias: [0, 0, 0],
      })),
    );
    await expect(run({}, { model: three })).rejects.toThrow(
      /model of fold 0 takes \[batch, 4\] and gives \[batch, 3\], but the data has 4 inputs per dataset \(2 × points\) and 2 targets/,
    );
  });

  it('reports progress in datasets, each holdout dataset once per fold model', async () => {
    const ctx = evaluateContext();
    await evaluate.run(inputs, { ...PARAMS, batch_size: 1 }, ctx);
    // 4 cross-validation datasets + 1 holdout dataset × 2 fold models.
    expect(ctx.progressCalls.at(-1)).toEqual({ done: 6, total: 6, unit: 'datasets' });
    expect(ctx.progressCalls.map((c) => c.done)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('stops when the run is interrupted', async () => {
    await expect(evaluate.run(inputs, PARAMS, evaluateContext({ signal: AbortSignal.abort() }))).rejects.toThrow(
      /abort/i,
    );
  });

  it('refuses a missing input by name', async () => {
    await expect(run({}, { scalers: undefined })).rejects.toThrow(/needs an input named scalers/);
  });
});

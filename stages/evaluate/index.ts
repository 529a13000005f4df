import { defineStage } from '../../src/stage-contract/types.js';
import { targetNamesProblem } from './target-names.js';

/** The validated `with:` of evaluate (the schema fills plots = true, batch_size = 1024). */
export interface EvaluateParams {
  /** Names of the target columns, in order; absent → A, B, C, … */
  readonly target_names?: readonly string[];
  readonly plots: boolean;
  readonly batch_size: number;
  /** New data (measured curves): no folds, all fold models' mean, metrics over all datasets. */
  readonly measured?: boolean;
}

/**
 * Scores train's fold models on the data they never saw. Each dataset is predicted by
 * the model of its own fold (holdout datasets by the mean of all fold models) →
 * `predictions` (N×k float32, targets' units). Per fold and target: RMSE, MAE, R², bias
 * on that fold's validation datasets; over folds: their mean and std, and cv_rmse_mean
 * (the sweep's objective) → `metrics` (JSON). Predicted-vs-true, residual and learning
 * curve plots → `plots` (SVG and PNG).
 */
export const evaluate = defineStage<EvaluateParams>({
  name: 'evaluate',
  version: '1',
  schema: 'stages/evaluate.schema.json',
  inputs: ['model', 'scalers', 'history', 'X', 'Y', 'targets', 'folds'],
  streams: true,
  optionalInputs: ['history'],
  outputs: [
    { name: 'predictions', kind: 'ndarray' },
    { name: 'metrics', kind: 'json' },
    { name: 'plots', kind: 'folder' },
  ],
  usesBackend: true,
  inferShapes: (params, inputs) => {
    const [n, k] = inputs.targets?.shape ?? [];
    const problem = k === undefined ? undefined : targetNamesProblem(params.target_names, k);
    return { outputs: { predictions: { shape: [n, k] } }, problems: problem ? [problem] : [] };
  },
  ports: (params) => (params.measured ? { inputs: ['model', 'scalers', 'history', 'X', 'Y', 'targets'] } : {}),
  // The scoring and plotting code loads only when the stage executes.
  run: async (inputs, params, ctx) => (await import('./run.js')).runEvaluate(inputs, params, ctx),
});

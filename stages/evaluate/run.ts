import { ParamflowError } from '../../src/util/errors.js';
import { jsonArtifact } from '../../src/stage-contract/ndarray.js';
import type { EvaluateParams } from './index.js';
import type {
  FoldReport,
  JsonValue,
  NdArray,
  StageContext,
  StageInputs,
  StageResult,
} from '../../src/stage-contract/types.js';
import { takeRows } from '../../src/model/features.js';
import { readInputs, type EvaluateInputs } from './inputs.js';
import { cvRmse, foldMetricRecord, standardizedRmse, summarizeFolds, targetErrors } from './metrics.js';
import { renderPlots } from '../../src/plots/render.js';
import { defaultTargetNames, targetNamesProblem } from './target-names.js';
import { predictOutOfFold } from './predict.js';

/** evaluate's `run` (see index.ts), loaded only when evaluate executes. */
export async function runEvaluate(
  inputs: StageInputs,
  params: EvaluateParams,
  ctx: StageContext,
): Promise<StageResult> {
  const input = readInputs(inputs, params.measured);
  const problem = targetNamesProblem(params.target_names, input.k);
  if (problem)
    throw new ParamflowError('PF_STAGE_FAILED', `evaluate: ${problem.message}`, {
      pointer: problem.pointer,
      hint: problem.hint,
    });
  const targetNames = params.target_names ?? defaultTargetNames(input.k);
  const rt = await ctx.tf();
  const { predictions, folds } = await predictOutOfFold(rt, input, params.batch_size, ctx);
  if (input.measured) return scoreMeasured(input, predictions, targetNames, params, ctx);

  const perFold = folds.map(({ fold, validation }) => {
    const pred = takeRows(predictions, validation);
    const truth = takeRows(input.targets, validation);
    return {
      fold,
      n: validation.length,
      metrics: foldMetricRecord(targetErrors(pred, truth), targetNames),
      standardized: standardizedRmse(input.scalers.folds[fold]!, pred, truth),
    };
  });
  const summary = { ...summarizeFolds(perFold.map((f) => f.metrics)), ...cvRmse(perFold.map((f) => f.standardized)) };

  const metrics: JsonValue = {
    target_names: [...targetNames],
    folds: perFold.map((f) => ({
      fold: f.fold,
      n_validation: f.n,
      metrics: f.metrics,
      standardized_rmse: f.standardized,
    })),
    summary,
  };
  const plots = params.plots
    ? await renderPlots(
        { targetNames, targets: input.targets, predictions, folds: input.folds, summary },
        input.history,
        (m) => ctx.log(m),
      )
    : {};
  // The fold runs' learning curves come from train's own fold reports (with their clock
  // times); evaluate adds the fold's error metrics to the same fold runs.
  const reports: FoldReport[] = perFold.map((f) => ({ fold: f.fold, metrics: f.metrics, series: {} }));
  return {
    outputs: { predictions, metrics: jsonArtifact(metrics), plots: { kind: 'folder', files: plots } },
    metrics: summary,
    folds: reports,
  };
}

// Measured data: one set of metrics over every dataset, each predicted by the mean of the fold models.
async function scoreMeasured(
  input: EvaluateInputs,
  predictions: NdArray,
  targetNames: readonly string[],
  params: EvaluateParams,
  ctx: StageContext,
): Promise<StageResult> {
  const summary = foldMetricRecord(
    targetErrors(takeRows(predictions, allRows(input.n)), takeRows(input.targets, allRows(input.n))),
    targetNames,
  );
  const metrics: JsonValue = { target_names: [...targetNames], measured: { n: input.n, metrics: summary } };
  const plots = params.plots
    ? await renderPlots(
        { targetNames, targets: input.targets, predictions, folds: input.folds, summary: asSubtitles(summary) },
        input.history,
        (m) => ctx.log(m),
      )
    : {};
  return {
    outputs: { predictions, metrics: jsonArtifact(metrics), plots: { kind: 'folder', files: plots } },
    metrics: summary,
  };
}

// The plots' subtitles read `<metric>.<t>.mean`: here the one value over all datasets.
const asSubtitles = (summary: Record<string, number>) =>
  Object.fromEntries(Object.entries(summary).map(([k, v]) => [`${k}.mean`, v]));
const allRows = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

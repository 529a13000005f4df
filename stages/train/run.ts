import { InputErrors, ParamflowError } from '../../src/util/errors.js';
import { jsonArtifact } from '../../src/stage-contract/ndarray.js';
import { requireArrayInput, wholeArray, type ArrayInput } from '../../src/stage-contract/rows.js';
import type {
  FoldReport,
  JsonValue,
  MetricPoint,
  NdArray,
  StageContext,
  StageInputs,
  StageResult,
  TfRuntime,
} from '../../src/stage-contract/types.js';
import {
  checkpointFiles,
  parseCheckpoint,
  type Checkpoint,
  type FinishedFold,
  type FoldHistory,
  type ProblemShape,
} from './checkpoint.js';
import { foldCount, foldIndices, takeRows } from '../../src/model/features.js';
import { fusedProblem } from './fused-problem.js';
import { trainFold, type FoldState } from './loop.js';
import { modelToFiles } from '../../src/model/model-io.js';
import { checkTrainParams, inputMode, outputSizeProblem, type TrainParams } from './params.js';
import { scaledCurveFeatures, scaleTargets, type FoldScaler, type Scalers } from '../../src/model/scalers.js';
import { fitScalerStreamed, matrixRows, ScaledCurveRows, streamed, type Rows } from '../../src/model/curve-rows.js';

interface Data {
  X: ArrayInput;
  Y: ArrayInput;
  targets: NdArray;
  folds: NdArray;
  shape: ProblemShape;
}

/** train's `run` (see index.ts), loaded only when train executes: a cached run needs none of it. */
export async function runTrain(inputs: StageInputs, params: TrainParams, ctx: StageContext): Promise<StageResult> {
  const problems = checkTrainParams(params);
  if (problems.length > 0)
    throw new InputErrors(
      problems.map((p) => new ParamflowError('PF_SCHEMA', p.message, { pointer: p.pointer, hint: p.hint })),
    );
  const data = readInputs(inputs, params);
  checkOutputSize(params, data.shape.targets);

  const rt = await ctx.tf();
  useProdMode(rt);
  const { shape } = data;
  const total = shape.folds * shape.epochs;
  const saved = await loadCheckpoint(ctx, shape);
  const finished: FinishedFold[] = saved?.finished ?? [];
  if (saved) {
    const at = saved.current
      ? describe(saved.current.fold, saved.current.state.partial, saved.current.state.epochs.length)
      : `fold ${finished.length}`;
    ctx.log(`resuming from the checkpoint at ${at}`);
    ctx.progress(finished.length * shape.epochs + (saved.current?.state.epochs.length ?? 0), total, 'epochs');
  }

  const whyNotFused = fusedProblem(params, rt.tf.getBackend(), process.env, rt.version);
  ctx.log(
    whyNotFused
      ? `training with tfjs-layers (no fused trainer: ${whyNotFused})`
      : 'training with the fused native trainer (one addon call per batch)',
  );
  // In memory: one buffer for every fold's scaled rows, training rows first, then validation
  // rows. Left in their files (a large study): rows are read and scaled a batch at a time.
  const inFiles = streamed(data.X, data.Y);
  const features = inFiles ? undefined : new Float32Array(shape.rows * shape.features);
  const rowsOf = (scaler: FoldScaler, subset: Int32Array, offset: number): Rows =>
    features
      ? matrixRows(scaledCurveFeatures(scaler, data.X as NdArray, data.Y as NdArray, subset, features.subarray(offset)))
      : new ScaledCurveRows(scaler, data.X, data.Y, subset);
  for (let fold = finished.length; fold < shape.folds; fold++) {
    const { train, validation } = foldIndices(data.folds, fold);
    if (train.length === 0 || validation.length === 0) throw emptyFoldError(fold, train.length, validation.length);
    const rawT = takeRows(data.targets, train);
    const scaler = fitScalerStreamed(data.X, data.Y, train, rawT, inputMode(params), params.standardize.targets);
    const resume = saved?.current?.fold === fold ? saved.current : undefined;
    const tell = foldTeller(ctx, fold, shape.epochs, resume?.state.epochs);
    await tell.started; // a sweep's pruner may stop a resumed fold at a rung it passed before

    const outcome = await trainFold({
      rt,
      params,
      fold,
      seed: ctx.seed,
      train: { x: rowsOf(scaler, train, 0), t: scaleTargets(scaler, rawT) },
      validation: {
        x: rowsOf(scaler, validation, train.length * shape.features),
        t: scaleTargets(scaler, takeRows(data.targets, validation)),
      },
      signal: ctx.signal,
      fused: whyNotFused === undefined,
      ...(resume ? { resume } : {}),
      onEpoch: async (snapshot) => {
        if (ctx.checkpoint.due?.() ?? true)
          await ctx.checkpoint.save(await checkpointFiles(rt, shape, finished, { fold, snapshot }));
        await tell.epochs(snapshot.state); // a sweep's pruner may stop the run here (ctx.signal)
        ctx.progress(fold * shape.epochs + snapshot.state.epochs.length, total, 'epochs');
      },
      onInterrupt: (snapshot) =>
        saveOnInterrupt(
          ctx,
          () => checkpointFiles(rt, shape, finished, { fold, snapshot }),
          describe(fold, snapshot.state.partial),
        ),
    });
    const files = await modelToFiles(rt, outcome.model);
    outcome.model.dispose();
    const s = outcome.state;
    tell.end(s);
    const history: FoldHistory = { fold, best_epoch: s.best.epoch, stopped_epoch: s.epochs.length, epochs: s.epochs };
    finished.push({ history, timestamps: s.timestamps, scaler, files });
    if (ctx.signal.aborted) {
      // Even after the last fold: the runner would discard a result it got after Ctrl-C.
      await saveOnInterrupt(ctx, () => checkpointFiles(rt, shape, finished), `the end of fold ${fold}`);
      throw ctx.signal.reason;
    }
    if (ctx.checkpoint.due?.() ?? true) await ctx.checkpoint.save(await checkpointFiles(rt, shape, finished));
    ctx.progress((fold + 1) * shape.epochs, total, 'epochs');
    const early = s.epochs.length < shape.epochs ? `, stopped early at epoch ${s.epochs.length}` : '';
    ctx.log(
      `fold ${fold}: best epoch ${s.best.epoch} of ${shape.epochs}, val_loss ${s.best.val_loss.toPrecision(6)}${early}`,
    );
  }
  return result(finished, data);
}

/**
 * A fold's events for ctx.fold: `start` now, each epoch once (the last one is known only when
 * trainFold returns), `end` after it. Epochs done before a resumed checkpoint were told then.
 */
function foldTeller(ctx: StageContext, fold: number, epochs: number, before: FoldState['epochs'] = []) {
  let told = before.length;
  const resumed =
    told > 0 ? { resumed: { loss: before.map((e) => e.loss), val_loss: before.map((e) => e.val_loss) } } : {};
  const started = ctx.fold?.({ fold, phase: 'start', epoch: told, epochs, at: Date.now(), ...resumed });
  const tellEpochs = async (state: Pick<FoldState, 'epochs' | 'timestamps'>) => {
    const answers: (void | Promise<void>)[] = [];
    for (; told < state.epochs.length; told++) {
      const e = state.epochs[told]!;
      const metrics = { loss: e.loss, val_loss: e.val_loss };
      answers.push(
        ctx.fold?.({ fold, phase: 'epoch', epoch: e.epoch, epochs, metrics, at: state.timestamps[told] ?? Date.now() }),
      );
    }
    await Promise.all(answers);
  };
  return {
    started: Promise.resolve(started),
    epochs: tellEpochs,
    end: (state: Pick<FoldState, 'epochs' | 'timestamps'>) => {
      void tellEpochs(state); // the fold is over: nothing left to stop
      ctx.fold?.({ fold, phase: 'end', epoch: state.epochs.length, epochs, at: Date.now() });
    },
  };
}

/**
 * Ctrl-C mid-training: the checkpoint is written now, whatever PARAMFLOW_CHECKPOINT_SECONDS
 * says, so the next run resumes at the interrupted batch. A failed save is logged, not thrown:
 * the run stops as interrupted either way (the previous checkpoint, if any, is intact).
 */
async function saveOnInterrupt(
  ctx: StageContext,
  files: () => Promise<Record<string, Uint8Array>>,
  at: string,
): Promise<void> {
  try {
    await ctx.checkpoint.save(await files());
    ctx.log(`interrupted: saved a checkpoint at ${at}; the next run resumes there`);
  } catch (err) {
    ctx.log(`interrupted: could not save a checkpoint at ${at}: ${(err as Error).message}`);
  }
}

function describe(fold: number, partial: { epoch: number; batch: number } | undefined, epochs = 0): string {
  return partial
    ? `fold ${fold}, epoch ${partial.epoch} before batch ${partial.batch}`
    : `fold ${fold} after epoch ${epochs}`;
}

function result(finished: readonly FinishedFold[], data: Data): StageResult {
  const model: Record<string, Uint8Array> = {};
  for (const f of finished)
    for (const [name, bytes] of Object.entries(f.files)) model[`fold-${f.history.fold}/${name}`] = bytes;
  const scalers: Scalers = {
    format: 1,
    features: data.shape.features,
    targetNames: targetNames(data.shape.targets),
    folds: finished.map((f) => f.scaler),
  };
  const folds: FoldReport[] = finished.map(({ history: h, timestamps }) => {
    const best = h.epochs.find((e) => e.epoch === h.best_epoch)!;
    const series = (pick: (e: (typeof h.epochs)[number]) => number): MetricPoint[] =>
      h.epochs.map((e, i) => ({ step: e.epoch, value: pick(e), timestamp: timestamps[i] ?? 0 }));
    // `best_val_loss`, not `val_loss`: a scalar under the curve's key would add a step-0 point to it in MLflow.
    return {
      fold: h.fold,
      metrics: { best_epoch: h.best_epoch, best_val_loss: best.val_loss },
      series: { loss: series((e) => e.loss), val_loss: series((e) => e.val_loss) },
    };
  });
  const mean = folds.reduce((a, f) => a + f.metrics.best_val_loss!, 0) / Math.max(1, folds.length);
  return {
    outputs: {
      model: { kind: 'folder', files: model },
      scalers: jsonArtifact(scalers as unknown as JsonValue),
      history: jsonArtifact({ folds: finished.map((f) => f.history) } as unknown as JsonValue),
    },
    folds,
    metrics: { val_loss_mean: mean },
  };
}

/**
 * Column names of the targets. The targets array carries none, so these are column
 * letters A, B, C…: the parameter names, in order, of every built-in simulate model.
 */
function targetNames(k: number): string[] {
  const letter = (i: number): string =>
    i < 26 ? String.fromCharCode(65 + i) : letter(Math.floor(i / 26) - 1) + letter(i % 26);
  return Array.from({ length: k }, (_, i) => letter(i));
}

function readInputs(inputs: StageInputs, params: TrainParams): Data {
  const X = requireArrayInput(inputs, 'X', 'train');
  const Y = requireArrayInput(inputs, 'Y', 'train');
  // A value or a few per dataset: in memory even for a million datasets.
  const targets = wholeArray(requireArrayInput(inputs, 'targets', 'train'));
  const folds = wholeArray(requireArrayInput(inputs, 'folds', 'train'));
  const rows = X.shape[0] ?? 0;
  const same = (a: readonly number[], b: readonly number[]): boolean =>
    a.length === b.length && a.every((v, i) => v === b[i]);
  const problems: string[] = [];
  if (X.shape.length !== 2) problems.push(`X has shape [${X.shape.join(', ')}], expected [datasets, points]`);
  if (!same(X.shape, Y.shape)) problems.push(`X has shape [${X.shape.join(', ')}] but Y has [${Y.shape.join(', ')}]`);
  if (targets.shape[0] !== rows || targets.shape.length > 2)
    problems.push(`targets has shape [${targets.shape.join(', ')}], expected [${rows}, k]`);
  if (folds.shape.length !== 1 || folds.shape[0] !== rows)
    problems.push(`folds has shape [${folds.shape.join(', ')}], expected [${rows}]`);
  if (problems.length > 0) {
    throw new ParamflowError('PF_STAGE_FAILED', `train: inputs do not fit together: ${problems.join('; ')}`, {
      hint: 'train needs X, Y and targets of the same datasets (simulate or add-noise) and folds made from them (split-folds)',
    });
  }
  const shape: ProblemShape = {
    rows,
    features: 2 * (X.shape[1] ?? 0),
    targets: targets.shape[1] ?? 1,
    folds: foldCount(folds),
    epochs: params.epochs,
  };
  if (shape.folds < 1) throw emptyFoldError(0, 0, 0);
  return { X, Y, targets, folds, shape };
}

function checkOutputSize(params: TrainParams, targets: number): void {
  const problem = outputSizeProblem(params, targets);
  if (problem)
    throw new ParamflowError('PF_STAGE_FAILED', `train: ${problem.message}`, {
      pointer: problem.pointer,
      hint: problem.hint,
    });
}

async function loadCheckpoint(ctx: StageContext, shape: ProblemShape): Promise<Checkpoint | undefined> {
  const files = await ctx.checkpoint.load();
  if (!files) return undefined;
  const parsed = parseCheckpoint(files, shape);
  if ('unusable' in parsed) {
    ctx.log(`ignoring the checkpoint: ${parsed.unusable}; training from the start`);
    return undefined;
  }
  return parsed;
}

/**
 * A loadTensorflow that mutes tfjs's banner with IS_TEST also turns on tfjs's per-kernel
 * leak check: slower, and it throws "internal memory leak" for wasm's fused matmul in
 * training. Prod mode mutes the banner without the check. A no-op once src/backend/load.ts
 * sets PROD instead (kept as a guard for runtimes loaded the old way).
 */
function useProdMode(rt: TfRuntime): void {
  const env = rt.tf.env();
  if (!env.getBool('IS_TEST')) return;
  rt.tf.enableProdMode();
  env.set('IS_TEST', false);
}

function emptyFoldError(fold: number, train: number, validation: number): ParamflowError {
  return new ParamflowError(
    'PF_STAGE_FAILED',
    `train: fold ${fold} has ${train} training and ${validation} validation datasets; both must be non-empty`,
    {
      hint: 'train needs folds from split-folds with k ≥ 2 and enough datasets outside the holdout',
    },
  );
}

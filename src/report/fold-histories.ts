import type { FoldHistory } from '../model/history.js';
import type { RunRecord } from '../tracking/run-record.js';

/**
 * The training history of a run from its run.json: the folds of the first stage that
 * reports a `loss` series, in the shape the evaluate stage's learning-curve plot takes.
 */
export function foldHistories(run: Pick<RunRecord, 'stages'>): { stage: string; history: FoldHistory[] } | undefined {
  for (const [stage, s] of Object.entries(run.stages)) {
    const folds = (s.folds ?? []).filter((f) => (f.series.loss ?? []).length > 0);
    if (folds.length === 0) continue;
    const history = folds.map((f): FoldHistory => {
      const val = new Map((f.series.val_loss ?? []).map((p) => [p.step, p.value]));
      const epochs = f.series.loss!.map((p) => ({ epoch: p.step, loss: p.value, val_loss: val.get(p.step) ?? null }));
      const last = epochs[epochs.length - 1]?.epoch ?? 0;
      return {
        fold: f.fold,
        best_epoch: f.metrics.best_epoch ?? bestEpoch(epochs) ?? last,
        stopped_epoch: last,
        epochs,
      };
    });
    return { stage, history };
  }
  return undefined;
}

function bestEpoch(epochs: FoldHistory['epochs']): number | undefined {
  let best: { epoch: number; v: number } | undefined;
  for (const e of epochs)
    if (e.val_loss !== null && (!best || e.val_loss < best.v)) best = { epoch: e.epoch, v: e.val_loss };
  return best?.epoch;
}

// The train stage's history output (history.json), as evaluate, reports and plots read it.

/** One fold's training history, as train writes it: epochs in order, `val_loss` null where none was measured. */
export interface FoldHistory {
  fold: number;
  best_epoch: number;
  stopped_epoch: number;
  epochs: { epoch: number; loss: number; val_loss: number | null; lr?: number }[];
}

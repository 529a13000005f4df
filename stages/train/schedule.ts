import type { ScheduleSpec } from './params.js';

// Learning-rate schedules. Epochs count from 1; the first epoch always trains at the
// optimizer's lr. step/exponential/cosine are functions of the epoch alone; plateau
// depends on the val_loss history, so its state travels in the checkpoint.

/** What plateau remembers between epochs. */
export interface PlateauState {
  /** Best val_loss seen so far (Infinity before the first epoch). */
  best: number;
  /** Epochs since the last new best (or the last reduction). */
  wait: number;
}

export function initialPlateau(): PlateauState {
  return { best: Infinity, wait: 0 };
}

/**
 * The learning rate of epoch `epoch` (1-based) of `epochs`. `current` is the rate
 * the previous epoch used: only plateau reads it (reductions are kept in it).
 */
export function scheduledLearningRate(
  schedule: ScheduleSpec | undefined,
  base: number,
  epoch: number,
  epochs: number,
  current: number,
): number {
  if (!schedule) return base;
  const e = epoch - 1;
  if ('step' in schedule) return base * schedule.step.factor ** Math.floor(e / schedule.step.every);
  if ('exponential' in schedule) return base * schedule.exponential.decay ** e;
  if ('cosine' in schedule) {
    const { min_lr } = schedule.cosine;
    const t = epochs > 1 ? e / (epochs - 1) : 1;
    return min_lr + ((base - min_lr) * (1 + Math.cos(Math.PI * t))) / 2;
  }
  return current;
}

/**
 * Plateau after an epoch: a new best val_loss resets the count; `patience` epochs
 * without one multiply lr by `factor` (not below min_lr) and restart the count.
 * Returns the learning rate for the next epoch. Other schedules: `lr` unchanged.
 */
export function afterEpoch(
  schedule: ScheduleSpec | undefined,
  state: PlateauState,
  valLoss: number,
  lr: number,
): number {
  if (!schedule || !('plateau' in schedule)) return lr;
  const { patience, factor, min_lr } = schedule.plateau;
  if (valLoss < state.best) {
    state.best = valLoss;
    state.wait = 0;
    return lr;
  }
  state.wait++;
  if (state.wait < patience) return lr;
  state.wait = 0;
  return Math.max(lr * factor, min_lr);
}

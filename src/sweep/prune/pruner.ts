import type { PruneSpec } from '../../config/sweep-spec.js';
import { isRung, type RungReport, type RungRule, type Verdict } from '../../runner/pruning.js';

// The sweep's side of pruning: every trial's fold-0 best val_loss at the rung epochs, and the
// rule that stops a trial doing worse than the others there. Decisions depend only on the
// values recorded so far, in the order they arrive: with --jobs 1 that order is the trials'
// order, so the same sweep prunes the same trials (docs/sweeps.md).

export const PRUNE_DEFAULTS = { min_epochs: 5, reduction_factor: 3, startup: 5 } as const;

/** The epochs where a trial's run asks (runner/pruning.ts). */
export function rungRule(spec: PruneSpec): RungRule {
  const first = spec.min_epochs ?? PRUNE_DEFAULTS.min_epochs;
  return spec.method === 'asha'
    ? { first, factor: spec.reduction_factor ?? PRUNE_DEFAULTS.reduction_factor }
    : { first, interval: spec.interval ?? first };
}

export class Pruner {
  readonly rule: RungRule;
  /** Per trial: the rung values it reported while training, and once it finished, its whole curve. */
  private readonly trials = new Map<string, { reported: Map<number, number>; bests?: number[] }>();

  constructor(private readonly spec: PruneSpec) {
    this.rule = rungRule(spec);
  }

  /**
   * A finished trial's fold-0 val_loss curve (epochs 1…n). At a rung past n (early stopping
   * ended the fold) it counts with the best it reached: what its model kept.
   */
  finished(trial: string, valLoss: readonly number[]): void {
    let best = Infinity;
    this.entry(trial).bests = valLoss.map((v) => (best = Math.min(best, v)));
  }

  /** A value a trial reported at a rung (live, or from the record of a pruned trial). */
  reported(trial: string, epoch: number, value: number): void {
    this.entry(trial).reported.set(epoch, value);
  }

  /** A trial at a rung asks whether to go on: its value is recorded, then the rule decides. */
  decide(trial: string, report: RungReport): Verdict {
    if (!isRung(this.rule, report.epoch)) return { prune: false };
    this.reported(trial, report.epoch, report.value);
    const others = [...this.trials]
      .filter(([t]) => t !== trial)
      .map(([, e]) => valueAt(e, report.epoch))
      .filter((v): v is number => v !== undefined && Number.isFinite(v));
    return this.spec.method === 'asha' ? this.asha(report, others) : this.median(report, others);
  }

  /**
   * Asynchronous successive halving (Li et al., "A System for Massively Parallel Hyperparameter
   * Tuning", MLSys 2020) as Optuna's SuccessiveHalvingPruner applies it to trials that cannot be
   * paused: a trial goes on when it is among the best ⌊n/η⌋ of the n trials that reached the
   * rung (itself included), or, while fewer than η have, when it is the best of them.
   */
  private asha(r: RungReport, others: number[]): Verdict {
    const eta = this.spec.reduction_factor ?? PRUNE_DEFAULTS.reduction_factor;
    const values = [...others, r.value].sort((a, b) => a - b);
    const keep = Math.max(1, Math.floor(values.length / eta));
    const cutoff = values[keep - 1]!;
    if (r.value <= cutoff) return { prune: false };
    return {
      prune: true,
      reason: `fold 0 val_loss ${fmt(r.value)} after ${r.epoch} epochs is not among the best ${keep} of the ${values.length} trials at this rung (cut-off ${fmt(cutoff)}, reduction factor ${eta})`,
    };
  }

  /** Optuna's MedianPruner: stopped when worse than the median of the other trials at the same epoch, once `startup` of them got there. */
  private median(r: RungReport, others: number[]): Verdict {
    const startup = this.spec.startup ?? PRUNE_DEFAULTS.startup;
    if (others.length === 0 || others.length < startup) return { prune: false };
    const sorted = [...others].sort((a, b) => a - b);
    const mid = sorted.length / 2;
    const median = sorted.length % 2 === 1 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    if (r.value <= median) return { prune: false };
    return {
      prune: true,
      reason: `fold 0 val_loss ${fmt(r.value)} after ${r.epoch} epochs is worse than the median ${fmt(median)} of the ${others.length} other trials there`,
    };
  }

  private entry(trial: string) {
    let e = this.trials.get(trial);
    if (!e) this.trials.set(trial, (e = { reported: new Map() }));
    return e;
  }
}

function valueAt(e: { reported: Map<number, number>; bests?: number[] }, epoch: number): number | undefined {
  if (!e.bests) return e.reported.get(epoch);
  return e.bests.length === 0 ? undefined : e.bests[Math.min(epoch, e.bests.length) - 1];
}

const fmt = (v: number) => v.toPrecision(4);

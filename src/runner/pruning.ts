// A sweep may stop a trial's run while it trains (issue: pruning). The runner knows only this
// much of it: at which epochs to ask, whom to ask, and how a stopped run is recorded. Who
// decides (ASHA, the median rule) is the sweep's business (src/sweep/prune/).

/** The epochs where a run asks whether to go on: `first`, then ×`factor` (ASHA) or +`interval` (median). */
export interface RungRule {
  first: number;
  factor?: number;
  interval?: number;
}

export function isRung(rule: RungRule, epoch: number): boolean {
  if (epoch < rule.first) return false;
  if (rule.interval) return (epoch - rule.first) % rule.interval === 0;
  const factor = rule.factor ?? 3;
  let e = rule.first;
  while (e < epoch) e *= factor;
  return e === epoch;
}

/** What a run tells the sweep at a rung: fold 0's best `val_loss` so far after `epoch` epochs. */
export interface RungReport {
  stage: string;
  epoch: number;
  value: number;
}

export interface Verdict {
  prune: boolean;
  /** Why, in a sentence (recorded with a pruned run). */
  reason?: string;
}

/** A run's pruner: the rule and the one it asks (the sweep, directly or over IPC or Redis). */
export interface RunPruner {
  rule: RungRule;
  ask(report: RungReport): Promise<Verdict>;
}

/** The abort reason of a pruned run: its record says PRUNED, not KILLED. */
export class PrunedSignal extends Error {
  constructor(
    readonly report: RungReport,
    readonly reason: string,
    /** Fold 0's val_loss per epoch up to the rung (the sweep's report draws it). */
    readonly curve: readonly number[] = [],
  ) {
    super(`pruned at epoch ${report.epoch}: ${reason}`);
    this.name = 'PrunedSignal';
  }
}

/**
 * The fold hook's pruning part: fold 0's best val_loss so far, told to the pruner at each rung
 * epoch; a prune verdict aborts the run (`abort`) with a PrunedSignal before the next epoch.
 */
export function rungWatcher(pruner: RunPruner, abort: (reason: PrunedSignal) => void) {
  const best = new Map<string, number>();
  const curves = new Map<string, number[]>();
  return async (stage: string, fold: number, epoch: number, valLoss: number | undefined): Promise<void> => {
    if (fold !== 0 || valLoss === undefined || !Number.isFinite(valLoss)) return;
    const value = Math.min(best.get(stage) ?? Infinity, valLoss);
    best.set(stage, value);
    let curve = curves.get(stage);
    if (!curve) curves.set(stage, (curve = []));
    curve.push(valLoss);
    if (!isRung(pruner.rule, epoch)) return;
    const report = { stage, epoch, value };
    // A sweep that cannot answer (gone, unreachable) lets the run go on: pruning only saves time.
    const verdict = await pruner.ask(report).catch((): Verdict => ({ prune: false }));
    if (verdict.prune)
      abort(new PrunedSignal(report, verdict.reason ?? 'worse than the other trials at this rung', curves.get(stage)));
  };
}

import type { SweepSpec } from '../config/sweep-spec.js';
import type { RungReport, Verdict } from '../runner/pruning.js';
import type { RunRecord } from '../tracking/run-record.js';
import type { RunStore } from '../tracking/run-store.js';
import { summarize, type ReplicateRecord, type SweepRecord, type TrialRecord } from '../tracking/sweep-record.js';
import type { Trial } from './expand.js';
import type { Pruner } from './prune/pruner.js';
import type { Proposer } from './proposer.js';
import type { Observation } from './search/tpe.js';
import type { SweepStore } from './store.js';

/** A replicate's run as the loop asks for it; `rung` is set when the pruner watches it. */
export type RunReplicate = (
  t: TrialRecord,
  r: ReplicateRecord,
  rung?: (report: RungReport) => Promise<Verdict>,
) => Promise<void>;

export interface LoopOptions {
  record: SweepRecord;
  spec: SweepSpec;
  proposer: Proposer;
  newTrial: (t: Trial) => TrialRecord;
  slots: number;
  signal: AbortSignal;
  run: RunReplicate;
  runs: RunStore;
  pruner?: Pruner;
  /** Pruning decisions of earlier runs of the same sweep (trial id → its replicate 0). */
  earlier: Map<string, ReplicateRecord>;
  /** After each replicate: progress line, record saved, --fail-fast. */
  after: (t: TrialRecord, r: ReplicateRecord) => Promise<void>;
  log: (line: string) => void;
  /** The clock the `minutes` budget reads (tests pass their own). */
  now?: () => number;
}

/**
 * Runs the sweep's trials `slots` at a time, taking each next replicate when a slot frees:
 * the replicates of a trial already started, then the next planned trial, or the next
 * proposal given the trials so far. Stops proposing at the budget (record.stopped says which).
 */
export async function driveTrials(o: LoopOptions): Promise<void> {
  const { record, spec } = o;
  const limit = spec.budget?.trials ?? Infinity;
  const now = o.now ?? Date.now;
  const deadline = spec.budget?.minutes ? now() + spec.budget.minutes * 60_000 : Infinity;
  const queue = record.trials.flatMap((t) => t.replicates.map((r) => ({ t, r })));
  // A list longer than the budget: the sweep holds its first `limit` trials.
  if (o.proposer.planned && o.proposer.planned.length > record.trials.length)
    record.stopped = `budget: ${limit} trials`;
  const outOfTime = () => now() >= deadline && (record.stopped ??= `budget: ${spec.budget!.minutes} minutes`);
  const take = (): { t: TrialRecord; r: ReplicateRecord } | undefined => {
    if (o.signal.aborted) return undefined;
    const queued = queue[0];
    if (queued) {
      // A new trial's first replicate waits for the clock; a started trial's others do not.
      if (queued.r.replicate === 0 && outOfTime()) return undefined;
      return queue.shift();
    }
    if (o.proposer.planned) return undefined;
    if (record.trials.length >= limit) {
      record.stopped ??= `budget: ${limit} trials`;
      return undefined;
    }
    if (outOfTime()) return undefined;
    const trial = o.proposer.next(record.trials.length, observations(record));
    if (!trial) {
      record.stopped ??= 'every point of the search space was tried';
      return undefined;
    }
    const t = o.newTrial(trial);
    record.trials.push(t);
    queue.push(...t.replicates.slice(1).map((r) => ({ t, r })));
    return { t, r: t.replicates[0]! };
  };
  const worker = async () => {
    for (let next = take(); next; next = take()) {
      const { t, r } = next;
      await replicate(o, t, r);
      t.objective = summarize(t);
      await o.after(t, r);
    }
  };
  await Promise.all(Array.from({ length: o.slots }, worker));
  // Trials the budget never started are not part of the sweep (on Ctrl-C they are recorded KILLED).
  if (record.stopped && !o.signal.aborted)
    record.trials = record.trials.filter((t) => t.replicates.some((r) => r.status !== 'pending'));
}

async function replicate(o: LoopOptions, t: TrialRecord, r: ReplicateRecord): Promise<void> {
  const first = t.replicates[0]!;
  if (r.replicate > 0 && first.status === 'PRUNED') {
    r.status = 'PRUNED'; // its trial was stopped: no replicate of it runs
    return;
  }
  const before = r.replicate === 0 ? o.earlier.get(t.id) : undefined;
  if (before?.pruned && o.pruner) {
    Object.assign(r, { status: 'PRUNED', runId: before.runId, rungs: before.rungs, curve: before.curve, attempts: 0 });
    r.pruned = { ...before.pruned, reusedFrom: before.pruned.reusedFrom ?? 'an earlier run of this sweep' };
    for (const [epoch, value] of Object.entries(before.rungs ?? {})) o.pruner.reported(t.id, Number(epoch), value);
    o.log(`trial ${t.id} was pruned by an earlier run of this sweep (epoch ${before.pruned.epoch}): not run again`);
    return;
  }
  const pruner = o.pruner;
  const rung =
    pruner && r.replicate === 0
      ? async (report: RungReport): Promise<Verdict> => {
          (r.rungs ??= {})[String(report.epoch)] = report.value;
          const verdict = pruner.decide(t.id, report);
          if (verdict.prune) o.log(`trial ${t.id} pruned after ${report.epoch} epochs: ${verdict.reason}`);
          return verdict;
        }
      : undefined;
  await o.run(t, r, rung);
  if (r.status !== 'FINISHED' && r.status !== 'PRUNED') return;
  const run = await o.runs.read(r.runId!).catch(() => undefined);
  if (run?.status === 'PRUNED' && run.pruned) {
    const { curve, ...why } = run.pruned;
    Object.assign(r, { status: 'PRUNED', pruned: why, ...(curve ? { curve } : {}) });
    delete r.objective;
  } else if (run && r.replicate === 0 && pruner) {
    r.curve = foldZeroCurve(run);
    pruner.finished(t.id, r.curve);
  }
}

/** How the trials so far went, for a model-based proposal (lower score is better). */
export function observations(record: SweepRecord): Observation[] {
  const sign = record.spec.objective.goal === 'minimize' ? 1 : -1;
  return record.trials.map((t): Observation => {
    const first = t.replicates[0]!;
    const done = t.replicates.every((r) => r.status !== 'pending' && r.status !== 'running');
    if (first.pruned) return { values: t.values, state: 'pruned', rung: first.pruned.epoch, score: first.pruned.value };
    if (done && t.objective) return { values: t.values, state: 'complete', score: sign * t.objective.mean };
    // A trial that failed ranks last; one still running counts as bad until it ends (constant liar).
    return done ? { values: t.values, state: 'pruned', rung: 0 } : { values: t.values, state: 'running' };
  });
}

/** Fold 0's val_loss per epoch in a run: the first stage that reports folds (the trainer). */
export function foldZeroCurve(run: RunRecord): number[] {
  for (const s of Object.values(run.stages)) {
    const curve = s.folds?.find((f) => f.fold === 0)?.series?.val_loss;
    if (curve) return [...curve].sort((a, b) => a.step - b.step).map((p) => p.value);
  }
  return [];
}

/** Replicate 0 of every trial an earlier run of the same sweep (same key) pruned, newest first. */
export async function earlierPruned(store: SweepStore, key: string): Promise<Map<string, ReplicateRecord>> {
  const out = new Map<string, ReplicateRecord>();
  for (const s of await store.list()) {
    if (s.key !== key) continue;
    for (const t of s.trials) {
      const r = t.replicates[0];
      if (r?.status === 'PRUNED' && r.pruned && !out.has(t.id)) out.set(t.id, r);
    }
  }
  return out;
}

import { stringify as toYaml } from 'yaml';
import { formatValues } from '../sweep/progress.js';
import type { SweepRecord, TrialRecord } from '../tracking/sweep-record.js';
import type { RunRecord } from '../tracking/run-record.js';
import type { RunStore } from '../tracking/run-store.js';
import { facts, figure, htmlPage, htmlTable, note, pre, section } from './html.js';
import { inlineSvg } from './inline-svg.js';
import { label } from '../plots/objective.js';
import { objectiveFigures, searchFigures, sweptKeys } from '../sweep/objective-figures.js';
import { MIN_TRIALS } from '../sweep/importance.js';
import { renderSvg } from './render.js';
import { FigureIds, fmt, keptPlots, learningCurvesFigure } from './run-sections.js';
import { redactSecrets } from '../util/redact.js';

/** A trial with what its finished replicates' runs recorded. */
export interface TrialSummary {
  trial: TrialRecord;
  status: string;
  /** Metric → mean over the finished replicates. */
  metrics: Record<string, number>;
  /** The first finished replicate's run, the one the report shows. */
  run?: RunRecord;
}

/** The trials, best first (by objective mean for the sweep's goal); trials without an objective last. */
export async function summarizeTrials(store: RunStore, sweep: SweepRecord): Promise<TrialSummary[]> {
  const out: TrialSummary[] = [];
  for (const trial of sweep.trials) {
    const runs: RunRecord[] = [];
    for (const r of trial.replicates) {
      if (r.status !== 'FINISHED' || !r.runId) continue;
      const rec = await store.read(r.runId).catch(() => undefined);
      if (rec) runs.push(rec);
    }
    const sums: Record<string, number[]> = {};
    for (const rec of runs) for (const [k, v] of Object.entries(rec.metrics)) (sums[k] ??= []).push(v);
    const statuses = [...new Set(trial.replicates.map((r) => r.status))];
    out.push({
      trial,
      status: statuses.join('/'),
      metrics: Object.fromEntries(
        Object.entries(sums).map(([k, xs]) => [k, xs.reduce((a, b) => a + b, 0) / xs.length]),
      ),
      run: runs[0],
    });
  }
  const sign = sweep.spec.objective.goal === 'maximize' ? -1 : 1;
  const score = (t: TrialSummary) => (t.trial.objective ? sign * t.trial.objective.mean : Infinity);
  return out.sort((a, b) => score(a) - score(b));
}

/** The self-contained HTML page of a sweep. */
export async function sweepReportHtml(store: RunStore, sweep: SweepRecord, warn: (m: string) => void): Promise<string> {
  const trials = await summarizeTrials(store, sweep);
  const keys = sweptKeys(sweep);
  const { metric, goal } = sweep.spec.objective;
  const bestId = sweep.best?.trial ?? trials.find((t) => t.trial.objective)?.trial.id;
  const best = trials.find((t) => t.trial.id === bestId);
  const ids = new FigureIds();
  const replicates = sweep.spec.replicates;
  const failed = trials.filter((t) => t.trial.replicates.some((r) => r.status === 'FAILED')).length;

  const summary = facts([
    ['sweep', sweep.sweepId],
    ['pipeline', `${sweep.pipeline.name} (${sweep.pipeline.file})`],
    ['status', sweep.status],
    ['started', sweep.startedAt],
    ['ended', sweep.endedAt ?? '–'],
    ['objective', `${metric} (${goal})`],
    [
      'trials',
      `${trials.length} × ${replicates} replicate(s)${failed > 0 ? ` · ${failed} with a failed replicate` : ''}`,
    ],
    ['shared --set', sweep.overrides.length > 0 ? redactSecrets(sweep.overrides.join(' ')) : '–'],
    [
      'best',
      best?.trial.objective
        ? `${best.trial.id} · ${formatValues(best.trial.values, best.trial.labels)} · ${metric} ${objectiveText(best.trial)}`
        : '–',
    ],
  ]);
  return htmlPage(
    `Sweep ${sweep.sweepId}`,
    `${sweep.pipeline.name} · ${sweep.status} · ${trials.length} trials · objective ${metric} (${goal})`,
    [
      section('Summary', summary),
      section('Sweep spec', pre(toYaml(sweep.spec))),
      section('Trials (best first)', trialsTable(trials, keys, metric, bestId)),
      section(`${metric} vs each swept param`, ...(await objectivePlots(sweep, ids, warn))),
      ...(await searchSection(sweep, ids, warn)),
      section(`Best trial${best ? ` ${best.trial.id}` : ''}`, ...(await bestTrialParts(store, best, ids, warn))),
    ],
  );
}

function objectiveText(t: TrialRecord): string {
  return t.objective ? `${fmt(t.objective.mean)}${t.objective.n > 1 ? ` ± ${fmt(t.objective.std)}` : ''}` : '–';
}

function trialsTable(
  trials: readonly TrialSummary[],
  keys: readonly string[],
  metric: string,
  bestId: string | undefined,
): string {
  const targets = [...new Set(trials.flatMap((t) => Object.keys(t.metrics)))]
    .filter((k) => /^rmse\.[^.]+\.mean$/.test(k))
    .sort();
  const headers = [
    'trial',
    ...keys,
    `${metric} (mean ± std)`,
    'n',
    ...targets.map((t) => t.replace(/\.mean$/, '')),
    'status',
    'run',
  ];
  const rows = trials.map((t) => [
    t.trial.id,
    ...keys.map((k) => (k in t.trial.values ? label(t.trial.values[k]) : '–')),
    objectiveText(t.trial),
    String(t.trial.objective?.n ?? 0),
    ...targets.map((k) => fmt(t.metrics[k])),
    t.status,
    // A pruned trial has no finished run, but its run (where it stopped) is there to show.
    t.run?.runId ?? t.trial.replicates.find((r) => r.runId)?.runId ?? '–',
  ]);
  const first = 1 + keys.length;
  const numeric = new Set(Array.from({ length: 2 + targets.length }, (_, i) => first + i));
  const marked = new Set(trials.flatMap((t, i) => (t.trial.id === bestId ? [i] : [])));
  return htmlTable(headers, rows, { numeric, marked });
}

/** A model-based or pruned search: how it went (searchFigures) and what was pruned, and why. */
async function searchSection(sweep: SweepRecord, ids: FigureIds, warn: (m: string) => void): Promise<string[]> {
  const figures = searchFigures(sweep);
  if (figures.length === 0) return [];
  const parts: string[] = [];
  for (const f of figures) {
    try {
      parts.push(figure(inlineSvg(await renderSvg(f.spec), ids.next()), f.caption));
    } catch (err) {
      warn(`cannot draw ${f.name}: ${(err as Error).message}`);
    }
  }
  const scored = sweep.trials.filter((t) => t.objective).length;
  if (scored < MIN_TRIALS)
    parts.push(note(`Each key's importance needs ${MIN_TRIALS} scored trials; this sweep has ${scored}.`));
  const pruned = sweep.trials.filter((t) => t.replicates[0]?.pruned);
  if (pruned.length > 0)
    parts.push(
      '<h3>Pruned trials</h3>',
      htmlTable(
        ['trial', 'values', 'epoch', 'fold 0 val_loss', 'why'],
        pruned.map((t) => {
          const p = t.replicates[0]!.pruned!;
          return [t.id, formatValues(t.values, t.labels), String(p.epoch), fmt(p.value), p.reason];
        }),
      ),
    );
  const how = sweep.spec.tpe ? 'TPE' : 'the listed trials';
  const stopped = sweep.stopped ? ` It stopped proposing: ${sweep.stopped}.` : '';
  return [section('The search', note(`Trials came from ${how}.${stopped}`), ...parts)];
}

async function objectivePlots(sweep: SweepRecord, ids: FigureIds, warn: (m: string) => void): Promise<string[]> {
  const figures = objectiveFigures(sweep);
  if (figures.length === 0) return [note('no trial has an objective yet: nothing to plot')];
  const out: string[] = [];
  for (const f of figures) {
    try {
      out.push(figure(inlineSvg(await renderSvg(f.spec), ids.next()), f.caption));
    } catch (err) {
      warn(`cannot draw ${sweep.spec.objective.metric} vs ${f.key}: ${(err as Error).message}`);
      out.push(note(`the plot against ${f.key} could not be drawn: ${(err as Error).message}`));
    }
  }
  return out;
}

async function bestTrialParts(
  store: RunStore,
  best: TrialSummary | undefined,
  ids: FigureIds,
  warn: (m: string) => void,
): Promise<string[]> {
  if (!best?.run) return [note('no trial finished: there is no best trial to show')];
  const run = best.run;
  const parts = [
    facts([
      ['values', formatValues(best.trial.values, best.trial.labels)],
      ['objective', objectiveText(best.trial)],
      ['run shown', `${run.runId} (replicate with seed ${String(run.resolved.seed ?? '–')})`],
    ]),
    '<h3>Learning curves</h3>',
    await learningCurvesFigure(run, ids, warn),
    '<h3>Predicted vs true</h3>',
  ];
  const plots = await keptPlots(store.layout.run(run.runId), run, ids, ['pred-vs-true']);
  parts.push(
    ...(plots.length > 0 ? plots : [note(`run ${run.runId} kept no pred-vs-true.svg (artifacts/<stage>/plots/)`)]),
  );
  return parts;
}

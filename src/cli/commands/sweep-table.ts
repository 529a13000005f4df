import { EXIT, ParamflowError } from '../../util/errors.js';
import { formatValues } from '../../sweep/progress.js';
import type { SweepRecord } from '../../tracking/sweep-record.js';
import { SweepStore } from '../../sweep/store.js';
import type { RunStore } from '../../tracking/run-store.js';
import { table } from '../../util/format.js';

interface TrialRow {
  trial: string;
  values: Record<string, unknown>;
  labels?: Record<string, string>;
  status: string;
  /** Where the sweep's pruner stopped the trial, and why. */
  pruned?: { epoch: number; value: number; reason: string };
  objective: { mean: number; std: number; n: number } | null;
  /** Metric → mean over the trial's finished replicates. */
  metrics: Record<string, number>;
  runs: string[];
}

/** `paramflow runs --sweep <ref> [--sort metric]`: the trials of a sweep, best first. */
export async function sweepTableCommand(
  store: RunStore,
  ref: string | true,
  flags: { sort?: string; json?: boolean },
): Promise<number> {
  const sweep = await new SweepStore(store.layout).resolve(ref === true ? undefined : ref);
  const rows = await trialRows(store, sweep);
  const metric = flags.sort ?? sweep.spec.objective.metric;
  const known = new Set(rows.flatMap((r) => Object.keys(r.metrics)));
  if (flags.sort !== undefined && flags.sort !== sweep.spec.objective.metric && !known.has(flags.sort))
    throw new ParamflowError('PF_BAD_FLAG', `--sort ${flags.sort}: no trial of ${sweep.sweepId} has this metric`, {
      location: { file: '<command line>' },
      hint: `sort by one of ${sortable(known).slice(0, 8).join(', ')}${known.size > 8 ? ', …' : ''}`,
    });
  const value = (r: TrialRow) =>
    (metric === sweep.spec.objective.metric ? r.objective?.mean : r.metrics[metric]) ?? Number.NaN;
  const sign = sweep.spec.objective.goal === 'maximize' && metric === sweep.spec.objective.metric ? -1 : 1;
  rows.sort((a, b) => (Number.isNaN(value(a)) ? 1 : Number.isNaN(value(b)) ? -1 : sign * (value(a) - value(b))));
  if (flags.json) {
    process.stdout.write(
      JSON.stringify(
        {
          sweep: sweep.sweepId,
          status: sweep.status,
          objective: sweep.spec.objective,
          best: sweep.best ?? null,
          trials: rows,
        },
        null,
        2,
      ) + '\n',
    );
    return EXIT.ok;
  }
  const varied = variedKeys(sweep);
  const targets = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))]
    .filter((k) => /^rmse\.[^.]+\.mean$/.test(k))
    .sort();
  const fmt = (x: number | undefined) =>
    x === undefined || Number.isNaN(x) ? '–' : Number(x.toPrecision(4)).toString();
  const body = rows.map((r) => [
    r.trial,
    ...varied.map((k) => r.labels?.[k] ?? JSON.stringify(r.values[k])),
    r.objective ? `${fmt(r.objective.mean)}${r.objective.n > 1 ? ` ± ${fmt(r.objective.std)}` : ''}` : '–',
    ...targets.map((t) => fmt(r.metrics[t])),
    r.status,
  ]);
  const header = [
    'TRIAL',
    ...varied,
    `${sweep.spec.objective.metric} (${sweep.spec.objective.goal})`,
    ...targets.map((t) => t.replace(/\.mean$/, '')),
    'STATUS',
  ];
  process.stdout.write(`sweep ${sweep.sweepId} · ${sweep.pipeline.name} · ${sweep.status} · sorted by ${metric}\n`);
  process.stdout.write(table(header, body) + '\n');
  if (sweep.best)
    process.stdout.write(`best: ${sweep.best.trial} (${formatValues(sweep.best.values, sweep.best.labels)})\n`);
  return EXIT.ok;
}

/** Keys whose value differs between trials (the columns worth showing). */
function variedKeys(s: SweepRecord): string[] {
  const keys = [...new Set(s.trials.flatMap((t) => Object.keys(t.values)))];
  return keys.filter(
    (k) => new Set(s.trials.map((t) => JSON.stringify(t.values[k]))).size > 1 || s.trials.length === 1,
  );
}

async function trialRows(store: RunStore, s: SweepRecord): Promise<TrialRow[]> {
  const rows: TrialRow[] = [];
  for (const t of s.trials) {
    const finished = t.replicates.filter((r) => r.status === 'FINISHED' && r.runId);
    const sums: Record<string, number[]> = {};
    for (const r of finished) {
      const rec = await store.read(r.runId!).catch(() => undefined);
      for (const [k, v] of Object.entries(rec?.metrics ?? {})) (sums[k] ??= []).push(v);
    }
    const statuses = [...new Set(t.replicates.map((r) => r.status))];
    const pruned = t.replicates[0]?.pruned;
    rows.push({
      trial: t.id,
      values: t.values,
      ...(t.labels ? { labels: t.labels } : {}),
      status: pruned ? `PRUNED at epoch ${pruned.epoch}` : statuses.length === 1 ? statuses[0]! : statuses.join('/'),
      ...(pruned ? { pruned } : {}),
      objective: t.objective ?? null,
      metrics: Object.fromEntries(
        Object.entries(sums).map(([k, xs]) => [k, xs.reduce((a, b) => a + b, 0) / xs.length]),
      ),
      runs: t.replicates.flatMap((r) => (r.runId ? [r.runId] : [])),
    });
  }
  return rows;
}

/** Metric keys as a reader looks for them: the RMSE per target first, then the rest alphabetically. */
function sortable(keys: ReadonlySet<string>): string[] {
  const rank = (k: string) => (k === 'cv_rmse_mean' ? 0 : /^rmse\.[^.]+\.mean$/.test(k) ? 1 : 2);
  return [...keys].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

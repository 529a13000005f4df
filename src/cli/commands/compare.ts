import type { CompareFlags } from '../command-options.js';
import { EXIT } from '../../util/errors.js';
import { compareRuns, type Comparison } from '../../report/compare-runs.js';
import { label } from '../../plots/objective.js';
import { resolveCompareRefs } from '../../report/resolve-refs.js';
import { formatValues } from '../../sweep/progress.js';
import type { RunRecord } from '../../tracking/run-record.js';
import { table } from '../../util/format.js';
import { listRuns, projectStore } from './runs.js';

/** `paramflow compare <ref>…`: params side by side (differences marked), then metrics with deltas against the first run. */
export async function compareCommand(refs: string[], flags: CompareFlags): Promise<number> {
  const store = projectStore();
  const warn = (m: string) => process.stderr.write(`warning: ${m}\n`);
  const { runs, objective } = await resolveCompareRefs(refs, store, () => listRuns(store), warn);
  const c = compareRuns(runs, objective.metric);
  if (flags.json) {
    process.stdout.write(JSON.stringify(c, null, 2) + '\n');
    return EXIT.ok;
  }
  const name = (i: number) => `#${i + 1}`;
  process.stdout.write(
    `comparing ${runs.length} runs · objective ${objective.metric} (${objective.goal}) · deltas against #1\n`,
  );
  process.stdout.write(
    table(
      ['', 'RUN', 'PIPELINE', 'STATUS', 'TRIAL', 'SET'],
      runs.map((r, i) => [name(i), r.runId, r.pipeline.name, r.status, trialOf(r), setOf(r)]),
    ) + '\n\n',
  );
  process.stdout.write(paramsText(c, runs.length, flags.all === true, name) + '\n\n');
  process.stdout.write(metricsText(c, objective, name) + '\n');
  return EXIT.ok;
}

/** The run's `--set` texts, a named choice by its name (`train.layers=bn-output`, not its JSON). */
function setOf(r: RunRecord): string {
  const labels = r.sweep?.labels ?? {};
  return r.options.overrides
    .map((text) => {
      const key = text.slice(0, text.indexOf('='));
      return key in labels ? `${key}=${labels[key]}` : text;
    })
    .join(' ');
}

function trialOf(r: RunRecord): string {
  return r.sweep ? `${r.sweep.trial} (${formatValues(r.sweep.values, r.sweep.labels)})` : '–';
}

function paramsText(c: Comparison, n: number, all: boolean, name: (i: number) => string): string {
  const keys = Object.keys(c.params);
  const shown = all ? keys : c.differing;
  const head = `params: ${c.differing.length} of ${keys.length} differ${all ? '' : ' (--all shows every key)'}`;
  if (shown.length === 0) return `${head}\n(the runs have the same params)`;
  const differs = new Set(c.differing);
  const rows = shown.map((k) => [
    k,
    differs.has(k) ? '≠' : '',
    ...c.params[k]!.map((v) => (v === null ? '–' : label(v))),
  ]);
  return `${head}\n${table(['PARAM', '≠', ...Array.from({ length: n }, (_, i) => name(i))], rows)}`;
}

function metricsText(c: Comparison, objective: { metric: string; goal: string }, name: (i: number) => string): string {
  const keys = Object.keys(c.metrics);
  if (keys.length === 0) return 'metrics: none recorded';
  const rows = keys.map((k) => {
    const m = c.metrics[k]!;
    const cells = m.values.map((v, i) => (i === 0 ? num(v) : withDelta(v, m.delta[i] ?? null, m.deltaPct[i] ?? null)));
    return [k === objective.metric ? `${k} (objective, ${objective.goal})` : k, ...cells];
  });
  return `metrics\n${table(['METRIC', ...c.runs.map((_, i) => name(i))], rows)}`;
}

function num(v: number | null): string {
  return v === null ? '–' : Number(v.toPrecision(4)).toString();
}

/** `0.7888 (+0.091, +13.0%)`; `(=)` when equal to the first run. */
function withDelta(v: number | null, d: number | null, pct: number | null): string {
  if (v === null || d === null) return num(v);
  if (d === 0) return `${num(v)} (=)`;
  const sign = d > 0 ? '+' : '';
  return `${num(v)} (${sign}${num(d)}${pct === null ? '' : `, ${sign}${pct.toFixed(1)}%`})`;
}

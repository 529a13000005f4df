import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import type { Layout } from '../project/layout.js';
import type { SweepRecord, TrialRecord } from '../tracking/sweep-record.js';
import { gridValues } from '../config/sweep-spec.js';
import { label, objectiveVsParamSpec, type ObjectivePoint } from '../plots/objective.js';
import { bestSoFarSpec, foldCurvesSpec, importanceSpec } from '../plots/search.js';
import { isRung } from '../runner/pruning.js';
import { keyImportance } from './importance.js';
import { rungRule } from './prune/pruner.js';

// A sweep's objective against each swept key: the figures the HTML report shows and the
// sweep's MLflow parent run carries (as SVG and PNG files in the sweep's folder).

export interface ObjectiveFigure {
  key: string;
  /** File name without extension: `<metric>-vs-<key>`. */
  name: string;
  spec: TopLevelSpec;
  caption: string;
}

/** The swept keys, in the order the sweep declares them. */
export function sweptKeys(sweep: SweepRecord): string[] {
  const declared = [...Object.keys(sweep.spec.grid ?? {}), ...Object.keys(sweep.spec.random?.params ?? {})];
  return [...new Set([...declared, ...sweep.trials.flatMap((t) => Object.keys(t.values))])];
}

/** One figure per swept key; none when no trial has an objective yet. */
export function objectiveFigures(sweep: SweepRecord): ObjectiveFigure[] {
  const scored = sweep.trials.filter((t) => t.objective);
  const keys = sweptKeys(sweep);
  const { metric, goal } = sweep.spec.objective;
  const best = sweep.best?.trial;
  if (scored.length === 0) return [];
  return keys.map((key) => {
    const others = keys.filter((k) => k !== key);
    const points: ObjectivePoint[] = scored.map((t) => ({
      trial: t.id,
      value: t.labels?.[key] ?? t.values[key],
      mean: t.objective!.mean,
      std: t.objective!.std,
      n: t.objective!.n,
      // One other key: its value names the line (the legend's title names the key).
      group: others.length === 1 ? shown(t, others[0]!) : others.map((k) => `${k}=${shown(t, k)}`).join(' ') || 'all',
    }));
    // Lines join trials that share the other values: a search's trials rarely do (each its own
    // group would make a legend of every trial), so then there is one group and no legend.
    const lonely = points.length > 1 && new Set(points.map((p) => p.group)).size === points.length;
    if (lonely) for (const p of points) p.group = 'all';
    const grid = sweep.spec.grid?.[key];
    const named = grid ? gridValues(grid) : undefined;
    // Named choices by their names; numbers in numeric order, on the axis and in the legend.
    const order = named?.names ?? numericFirst(named?.values ?? sweep.trials.map((t) => t.values[key]));
    const groupOrder = others.length === 1 && !lonely ? groupLabels(sweep, others[0]!) : undefined;
    const spec = objectiveVsParamSpec({
      key,
      metric,
      goal,
      points,
      order,
      ...(best ? { best } : {}),
      ...(others.length === 1 && !lonely ? { groupTitle: others[0] } : {}),
      ...(lonely ? { lines: false } : {}),
      ...(groupOrder ? { groupOrder } : {}),
    });
    const caption = `${metric} of each trial against ${key}${others.length > 0 && !lonely ? `; lines join trials with the same ${others.join(', ')}` : ''}`;
    return { key, name: `${metric}-vs-${key}`.replace(/[^\w.-]+/g, '_'), spec, caption };
  });
}

/**
 * A model-based or pruned search's own figures: the objective by trial order with the best so
 * far, each key's share of the spread (importance.ts), and fold 0's curves with the pruned marked.
 */
export function searchFigures(sweep: SweepRecord): ObjectiveFigure[] {
  if (!sweep.spec.tpe && !sweep.spec.prune) return [];
  const { metric, goal } = sweep.spec.objective;
  const out: ObjectiveFigure[] = [];
  const scores = sweep.trials.flatMap((t, i) =>
    t.objective ? [{ index: i + 1, trial: t.id, value: t.objective.mean }] : [],
  );
  const pruned = sweep.trials.filter((t) => t.replicates[0]?.status === 'PRUNED').length;
  if (scores.length >= 2)
    out.push({
      key: '(trial)',
      name: `${metric}-best-so-far`,
      spec: bestSoFarSpec({ metric, goal, scores, pruned }),
      caption: `${metric} of each trial in the order the search proposed them, and the best so far`,
    });
  const shares = keyImportance(sweep, sweptKeys(sweep));
  if (shares.length > 0)
    out.push({
      key: '(importance)',
      name: `${metric}-importance`,
      spec: importanceSpec({ metric, shares }),
      caption: `each swept key's share of the spread of ${metric} over the ${scores.length} scored trials, on its own (η² adjusted for the number of groups, main effect; a range in up to 4 bins by rank)`,
    });
  const curves = sweep.trials.flatMap((t) => {
    const r = t.replicates[0];
    return r?.curve?.length ? [{ trial: t.id, pruned: r.status === 'PRUNED', values: r.curve }] : [];
  });
  if (curves.length > 0 && sweep.spec.prune) {
    const rule = rungRule(sweep.spec.prune);
    const longest = Math.max(...curves.map((c) => c.values.length));
    const rungs = Array.from({ length: longest }, (_, i) => i + 1).filter((e) => isRung(rule, e));
    out.push({
      key: '(curves)',
      name: 'fold0-val_loss-curves',
      spec: foldCurvesSpec({ curves, rungs }),
      caption: `fold 0's val_loss of every trial by epoch; ${pruned} pruned at a rung (${sweep.spec.prune.method})`,
    });
  }
  return out;
}

/**
 * Renders the figures into `<sweep folder>/plots/<name>.svg|png`; returns the files written,
 * relative to the project root. A figure that cannot be drawn is reported and skipped.
 */
export async function writeObjectiveFigures(
  layout: Layout,
  sweep: SweepRecord,
  dir: string,
  warn: (m: string) => void,
): Promise<string[]> {
  const figures = [...objectiveFigures(sweep), ...searchFigures(sweep)];
  if (figures.length === 0) return [];
  const { renderFigure } = await import('../plots/render.js');
  const out = join(dir, 'plots');
  await mkdir(out, { recursive: true });
  const written: string[] = [];
  for (const f of figures) {
    try {
      const { svg, png } = await renderFigure(f.spec);
      for (const [ext, data] of [
        ['svg', svg],
        ['png', png],
      ] as const) {
        const file = join(out, `${f.name}.${ext}`);
        await writeFile(file, data);
        written.push(relative(layout.root, file).split(sep).join('/'));
      }
    } catch (err) {
      warn(`cannot draw ${f.name}: ${(err as Error).message}`);
    }
  }
  return written;
}

/** A trial's value of `key` as plots show it: its choice's name, or the value as a label. */
function shown(t: TrialRecord, key: string): string {
  return t.labels?.[key] ?? label(t.values[key]);
}

/** Numbers in ascending order (a grid written 128, 16, 256 still reads 16, 128, 256); anything else as given. */
function numericFirst(values: readonly unknown[]): unknown[] {
  return values.every((v) => typeof v === 'number')
    ? [...values].sort((a, b) => (a as number) - (b as number))
    : [...values];
}

/** The legend's order for `key`: its choices' names, its numbers ascending, or first appearance. */
function groupLabels(sweep: SweepRecord, key: string): string[] {
  const grid = sweep.spec.grid?.[key];
  const named = grid ? gridValues(grid) : undefined;
  if (named?.names) return named.names;
  const values = named?.values ?? sweep.trials.map((t) => t.values[key]);
  return [...new Set(numericFirst(values).map(label))];
}

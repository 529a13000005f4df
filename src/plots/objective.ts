import type { Config, TopLevelSpec } from 'vega-lite';
import { PLOT_CONFIG } from './config.js';

// A sweep's objective against a swept key, as a Vega-Lite spec: plain data in, JSON out.

const BLUE = '#4c78a8';
const BEST = '#d62728';

// Long legend labels: the "other swept values" of a trial.
const CONFIG: Config = { ...PLOT_CONFIG, legend: { ...PLOT_CONFIG.legend, labelLimit: 480 } };

/** One trial as a point of an objective plot. */
export interface ObjectivePoint {
  trial: string;
  /** The swept key's value in this trial. */
  value: unknown;
  mean: number;
  std: number;
  /** Finished replicates behind mean and std. */
  n: number;
  /** The trial's other swept values: trials sharing them are joined by a line. */
  group: string;
}

export interface ObjectivePlot {
  key: string;
  metric: string;
  goal: 'minimize' | 'maximize';
  points: readonly ObjectivePoint[];
  /** The swept values in sweep order (the axis order of non-numeric values). */
  order: readonly unknown[];
  /** The legend's order of the groups (default: as Vega-Lite sorts strings). */
  groupOrder?: readonly string[];
  best?: string;
  /** The legend's title for `group` (default: "other swept values"). */
  groupTitle?: string;
  /** `false`: points only (no trials share their other values, so no line would join like with like). */
  lines?: boolean;
}

/** More groups than this get no colour legend, only a line each. */
const MAX_COLOURS = 10;
const MAX_TICKS = 12;

/** The objective of each trial against one swept key, with ± std bars where trials have replicates. */
export function objectiveVsParamSpec(plot: ObjectivePlot): TopLevelSpec {
  const numeric = plot.points.every((p) => typeof p.value === 'number');
  const rows = plot.points.map((p) => ({
    trial: p.trial,
    x: numeric ? p.value : label(p.value),
    y: p.mean,
    lo: p.mean - p.std,
    hi: p.mean + p.std,
    group: p.group,
    best: p.trial === plot.best,
  }));
  const xs = numeric ? plot.points.map((p) => p.value as number) : [];
  const log = numeric && xs.every((v) => v > 0) && Math.max(...xs) / Math.min(...xs) >= 10;
  const ticks = [...new Set(xs)].sort((a, b) => a - b);
  // Ticks at the swept values themselves, unless there are too many (a random sweep).
  const axis = ticks.length <= MAX_TICKS ? { values: ticks } : {};
  const x = numeric
    ? {
        field: 'x',
        type: 'quantitative' as const,
        title: plot.key,
        axis,
        scale: log ? { type: 'log' as const, nice: false } : { zero: false },
      }
    : {
        field: 'x',
        type: 'ordinal' as const,
        title: plot.key,
        sort: [...new Set(plot.order.map(label))],
        axis: { labelAngle: 0 },
      };
  const y = {
    field: 'y',
    type: 'quantitative' as const,
    title: `${plot.metric} (${plot.goal})`,
    scale: { zero: false },
  };
  const groups = new Set(rows.map((r) => r.group)).size;
  const colour =
    groups > 1 && groups <= MAX_COLOURS
      ? {
          color: {
            field: 'group',
            type: 'nominal' as const,
            title: plot.groupTitle ?? 'other swept values',
            ...(plot.groupOrder ? { sort: [...plot.groupOrder] } : {}),
          },
        }
      : {};
  const replicated = plot.points.some((p) => p.n > 1);
  const layer: object[] = [];
  if (numeric && rows.length > 1 && plot.lines !== false)
    layer.push({
      mark: { type: 'line', strokeWidth: 1.5, color: BLUE },
      encoding: { x, y, detail: { field: 'group' }, ...colour },
    });
  if (replicated)
    layer.push({
      mark: { type: 'rule', strokeWidth: 1.5, color: BLUE },
      encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, ...colour },
    });
  layer.push({
    mark: { type: 'point', filled: true, size: 60, color: BLUE, opacity: 0.9 },
    encoding: { x, y, ...colour },
  });
  if (plot.best !== undefined) {
    layer.push({
      transform: [{ filter: 'datum.best' }],
      mark: { type: 'point', filled: false, size: 260, strokeWidth: 2, color: BEST },
      encoding: { x, y },
    });
  }
  const parts = [
    'one point per trial',
    replicated ? 'bars: mean ± std over replicates' : undefined,
    plot.best !== undefined ? 'ringed: best trial' : undefined,
  ];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `${plot.metric} vs ${plot.key}`, subtitle: parts.filter((p) => p !== undefined).join(' · ') },
    data: { values: rows },
    width: 360,
    height: 240,
    layer,
    config: CONFIG,
  } as TopLevelSpec;
}

/** A value as an axis label: strings as they are, anything else as JSON. */
export function label(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

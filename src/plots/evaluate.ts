import type { TopLevelSpec } from 'vega-lite';
import { PLOT_CONFIG } from './config.js';
import type { NdArray } from '../stage-contract/types.js';
import type { FoldHistory } from '../model/history.js';

// The evaluate plots as Vega-Lite specs: plain data in, JSON out, no rendering here.

/** Points drawn per scatter at most: every n-th dataset, so files stay small and renders fast. */
export const MAX_POINTS = 5000;

const BLUE = '#4c78a8';
const ORANGE = '#f58518';
const GUIDE = '#d62728';
const PANEL = 240;
const SET_CV = 'cross-validation';
const SET_HOLDOUT = 'holdout';

/** What the scatter plots show: out-of-fold predictions against the truth. */
export interface ScatterInput {
  targetNames: readonly string[];
  targets: NdArray;
  predictions: NdArray;
  folds: NdArray;
  /** Cross-validation summary (`rmse.<t>.mean`, …) for the panel subtitles. */
  summary: Readonly<Record<string, number>>;
}

interface Point {
  t: number;
  p: number;
  set: string;
}

/** Predicted against true, one panel per target, with the line y = x. */
export function predVsTrueSpec(input: ScatterInput): TopLevelSpec {
  const panels = input.targetNames.map((name, c) => {
    const points = samplePoints(input, c);
    const [lo, hi] = paddedExtent(points.flatMap((q) => [q.t, q.p]));
    const scale = { domain: [lo, hi], nice: false, zero: false };
    return {
      title: {
        text: name,
        subtitle: `RMSE ${fmt(input.summary[`rmse.${name}.mean`])} · R² ${fmt(input.summary[`r2.${name}.mean`])}`,
      },
      width: PANEL,
      height: PANEL,
      layer: [
        {
          data: {
            values: [
              { t: lo, p: lo },
              { t: hi, p: hi },
            ],
          },
          mark: { type: 'line' as const, color: GUIDE, strokeDash: [5, 4], strokeWidth: 1.5 },
          encoding: {
            x: { field: 't', type: 'quantitative' as const, scale },
            y: { field: 'p', type: 'quantitative' as const, scale },
          },
        },
        {
          data: { values: points },
          mark: pointMark(),
          encoding: {
            x: { field: 't', type: 'quantitative' as const, title: `true ${name}`, scale },
            y: { field: 'p', type: 'quantitative' as const, title: `predicted ${name}`, scale },
            ...colorBySet(input),
          },
        },
      ],
    };
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Predicted vs true', subtitle: subtitleOf(input) },
    columns: gridColumns(panels.length),
    concat: panels,
    config: PLOT_CONFIG,
  };
}

/** Residual (predicted − true) against true, one panel per target, with the line residual = 0. */
export function residualsSpec(input: ScatterInput): TopLevelSpec {
  const panels = input.targetNames.map((name, c) => {
    const points = samplePoints(input, c).map((q) => ({ t: q.t, r: q.p - q.t, set: q.set }));
    return {
      title: {
        text: name,
        subtitle: `bias ${fmt(input.summary[`bias.${name}.mean`])} · MAE ${fmt(input.summary[`mae.${name}.mean`])}`,
      },
      width: PANEL,
      height: PANEL,
      layer: [
        {
          data: { values: points },
          mark: pointMark(),
          encoding: {
            x: { field: 't', type: 'quantitative' as const, title: `true ${name}`, scale: { zero: false } },
            y: { field: 'r', type: 'quantitative' as const, title: `residual ${name}` },
            ...colorBySet(input),
          },
        },
        {
          data: { values: [{ r: 0 }] },
          mark: { type: 'rule' as const, color: GUIDE, strokeDash: [5, 4], strokeWidth: 1.5 },
          encoding: { y: { field: 'r', type: 'quantitative' as const } },
        },
      ],
    };
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Residuals (predicted − true)', subtitle: subtitleOf(input) },
    columns: gridColumns(panels.length),
    concat: panels,
    config: PLOT_CONFIG,
  };
}

/** loss and val_loss per epoch, one panel per fold, with the best epoch marked. */
export function learningCurvesSpec(history: readonly FoldHistory[]): TopLevelSpec {
  const rows = history.map((h) => ({
    h,
    values: h.epochs.flatMap((e) =>
      (['loss', 'val_loss'] as const).flatMap((curve) => {
        const value = e[curve];
        return typeof value === 'number' && Number.isFinite(value) ? [{ epoch: e.epoch, value, curve }] : [];
      }),
    ),
  }));
  // A log axis shows both the early drop and the late plateau, when every loss is positive.
  const log = rows.every((r) => r.values.every((v) => v.value > 0));
  const panels = rows.map(({ h, values }) => ({
    title: { text: `fold ${h.fold}`, subtitle: `best epoch ${h.best_epoch} · stopped at ${h.stopped_epoch}` },
    width: PANEL,
    height: PANEL * 0.75,
    layer: [
      {
        data: { values },
        mark: { type: 'line' as const, strokeWidth: 1.5 },
        encoding: {
          x: { field: 'epoch', type: 'quantitative' as const, title: 'epoch' },
          y: {
            field: 'value',
            type: 'quantitative' as const,
            title: 'loss',
            scale: log ? { type: 'log' as const, nice: false } : { zero: false },
          },
          color: {
            field: 'curve',
            type: 'nominal' as const,
            title: null,
            scale: { domain: ['loss', 'val_loss'], range: [BLUE, ORANGE] },
          },
        },
      },
      {
        data: { values: [{ epoch: h.best_epoch }] },
        mark: { type: 'rule' as const, color: 'gray', strokeDash: [4, 3] },
        encoding: { x: { field: 'epoch', type: 'quantitative' as const } },
      },
    ],
  }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    // The colours said in words too: a concat's legend can end up far from the panels, or cut off.
    title: { text: 'Learning curves', subtitle: 'blue: loss (training folds) · orange: val_loss · dashed: best epoch' },
    columns: gridColumns(panels.length),
    concat: panels,
    config: PLOT_CONFIG,
  };
}

/** Every n-th dataset (n = ⌈N / MAX_POINTS⌉), the same ones for every target. */
export function sampleRows(n: number, max = MAX_POINTS): number[] {
  const stride = Math.max(1, Math.ceil(n / max));
  return Array.from({ length: Math.ceil(n / stride) }, (_, i) => i * stride);
}

function samplePoints(input: ScatterInput, c: number): Point[] {
  const k = input.targetNames.length;
  const points = sampleRows(input.folds.data.length).map((i) => ({
    t: input.targets.data[i * k + c]!,
    p: input.predictions.data[i * k + c]!,
    set: input.folds.data[i]! < 0 ? SET_HOLDOUT : SET_CV,
  }));
  // Holdout points last, drawn on top: there are few of them.
  return [...points.filter((q) => q.set === SET_CV), ...points.filter((q) => q.set === SET_HOLDOUT)];
}

function hasHoldout(input: ScatterInput): boolean {
  return input.folds.data.some((f) => f < 0);
}

/** Holdout points in their own colour (and a legend) only when there is a holdout. */
function colorBySet(input: ScatterInput) {
  if (!hasHoldout(input)) return {};
  return {
    color: {
      field: 'set',
      type: 'nominal' as const,
      title: null,
      scale: { domain: [SET_CV, SET_HOLDOUT], range: [BLUE, ORANGE] },
    },
  };
}

function pointMark() {
  // Small squares: a 2 px square reads as a dot and its SVG path is a third of a circle's.
  return { type: 'square' as const, size: 4, opacity: 0.4, color: BLUE };
}

function subtitleOf(input: ScatterInput): string {
  const n = input.folds.data.length;
  const shown = sampleRows(n).length;
  const what = hasHoldout(input)
    ? 'out-of-fold predictions; holdout: mean of the fold models'
    : 'out-of-fold predictions';
  return shown < n ? `${what} · ${shown} of ${n} datasets shown` : what;
}

function gridColumns(panels: number): number {
  return panels <= 3 ? panels : Math.ceil(Math.sqrt(panels));
}

function paddedExtent(values: readonly number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (lo > hi) return [0, 1];
  const pad = hi > lo ? 0.03 * (hi - lo) : Math.max(1e-6, Math.abs(lo) * 0.05);
  return [lo - pad, hi + pad];
}

function fmt(v: number | undefined): string {
  return v === undefined ? '?' : Number(v.toPrecision(3)).toString();
}

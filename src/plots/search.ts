import type { TopLevelSpec } from 'vega-lite';
import { PLOT_CONFIG } from './config.js';

// A search's own figures, as Vega-Lite specs: the objective over trial order with the best so
// far, each key's share of the objective's spread, and fold 0's validation loss of every trial
// with the pruned ones marked.

const BLUE = '#4c78a8';
const ORANGE = '#f58518';
const GREY = '#9d9d9d';
const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

export interface TrialScore {
  /** 1-based, in the order trials were proposed. */
  index: number;
  trial: string;
  value: number;
}

/** Each scored trial's objective by trial number, and the best so far as a step line. */
export function bestSoFarSpec(o: {
  metric: string;
  goal: 'minimize' | 'maximize';
  scores: readonly TrialScore[];
  pruned: number;
}): TopLevelSpec {
  const better = (a: number, b: number) => (o.goal === 'minimize' ? a < b : a > b);
  let best: number | undefined;
  const rows = o.scores.map((s) => {
    if (best === undefined || better(s.value, best)) best = s.value;
    return { ...s, best };
  });
  const x = {
    field: 'index',
    type: 'quantitative' as const,
    title: 'trial (in the order proposed)',
    axis: { tickMinStep: 1 },
  };
  return {
    $schema: SCHEMA,
    title: {
      text: `${o.metric} over the search`,
      subtitle: `points: each trial · line: best so far${o.pruned > 0 ? ` · ${o.pruned} pruned trial(s) have no ${o.metric}` : ''}`,
    },
    data: { values: rows },
    width: 360,
    height: 240,
    layer: [
      {
        mark: { type: 'line', interpolate: 'step-after', color: ORANGE, strokeWidth: 2 },
        encoding: {
          x,
          y: { field: 'best', type: 'quantitative', title: `${o.metric} (${o.goal})`, scale: { zero: false } },
        },
      },
      {
        mark: { type: 'point', filled: true, color: BLUE, size: 50 },
        encoding: {
          x,
          y: { field: 'value', type: 'quantitative', scale: { zero: false } },
          tooltip: [{ field: 'trial' }, { field: 'value' }],
        },
      },
    ],
    config: PLOT_CONFIG,
  } as TopLevelSpec;
}

/** Each key's share of the objective's spread (ε², the adjusted η²), largest first. */
export function importanceSpec(o: { metric: string; shares: readonly { key: string; share: number }[] }): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title: {
      text: `What ${o.metric} depends on`,
      subtitle: "each key's share of the trials' spread on its own (adjusted η², main effect)",
    },
    data: { values: o.shares.map((s) => ({ key: s.key, share: s.share })) },
    width: 320,
    height: { step: 22 },
    mark: { type: 'bar', color: BLUE },
    encoding: {
      y: { field: 'key', type: 'nominal', sort: '-x', title: null },
      x: { field: 'share', type: 'quantitative', title: 'share of variance', scale: { domain: [0, 1] } },
    },
    config: PLOT_CONFIG,
  } as TopLevelSpec;
}

export interface TrialCurve {
  trial: string;
  pruned: boolean;
  /** Fold 0's val_loss per epoch (1-based). */
  values: readonly number[];
}

/** Fold 0's val_loss of every trial against epoch: pruned trials in orange, the rest grey. */
export function foldCurvesSpec(o: { curves: readonly TrialCurve[]; rungs: readonly number[] }): TopLevelSpec {
  const rows = o.curves.flatMap((c) =>
    c.values.map((v, i) => ({ trial: c.trial, epoch: i + 1, val_loss: v, status: c.pruned ? 'pruned' : 'trained on' })),
  );
  const positive = rows.every((r) => r.val_loss > 0);
  return {
    $schema: SCHEMA,
    title: { text: 'Fold 0 val_loss of every trial', subtitle: 'orange: pruned at a rung (dashed lines: the rungs)' },
    width: 360,
    height: 240,
    layer: [
      {
        data: { values: rows },
        mark: { type: 'line', strokeWidth: 1.2, opacity: 0.8 },
        encoding: {
          x: { field: 'epoch', type: 'quantitative' },
          y: {
            field: 'val_loss',
            type: 'quantitative',
            title: 'val_loss (fold 0)',
            scale: positive ? { type: 'log' } : { zero: false },
          },
          detail: { field: 'trial' },
          color: {
            field: 'status',
            type: 'nominal',
            title: null,
            scale: { domain: ['trained on', 'pruned'], range: [GREY, ORANGE] },
          },
        },
      },
      {
        data: { values: o.rungs.map((epoch) => ({ epoch })) },
        mark: { type: 'rule', strokeDash: [4, 4], color: GREY },
        encoding: { x: { field: 'epoch', type: 'quantitative' } },
      },
    ],
    config: PLOT_CONFIG,
  } as TopLevelSpec;
}

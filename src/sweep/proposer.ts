import { canonicalJson } from '../hash/canonical-json.js';
import { deriveSeed, Rng } from '../stage-contract/random.js';
import type { SweepSpec } from '../config/sweep-spec.js';
import { trialId, type Trial } from './expand.js';
import { axisValues, drawAxis, labelsOf, searchSpace, spaceSize, type Axis } from './search/space.js';
import { proposeTpe, type Observation } from './search/tpe.js';

/** Where a sweep's next trial comes from: a list known up front (grid, random) or a model (tpe). */
export interface Proposer {
  /** The trials known before any has run (grid and random); undefined for a model-based search. */
  readonly planned?: readonly Trial[];
  /** Trial `index` given how the earlier ones went (in proposal order); undefined when the space is used up. */
  next(index: number, history: readonly Observation[]): Trial | undefined;
}

export const TPE_DEFAULTS = { startup: 10, candidates: 24 } as const;

export function listProposer(trials: readonly Trial[]): Proposer {
  return { planned: trials, next: (i) => trials[i] };
}

/**
 * TPE proposals, each from its own seeded stream (the pipeline seed and its index): the same
 * sweep and the same results give the same trials, however many draws earlier proposals took.
 * A point already tried is drawn again (a finite space can run out: then the sweep ends).
 */
export function tpeProposer(spec: SweepSpec, pipelineSeed: number): Proposer {
  const axes = searchSpace(spec);
  const options = {
    startup: spec.tpe?.startup ?? TPE_DEFAULTS.startup,
    candidates: spec.tpe?.candidates ?? TPE_DEFAULTS.candidates,
  };
  return {
    next(index, history) {
      const rng = new Rng(deriveSeed(spec.tpe?.seed ?? pipelineSeed, `sweep/tpe/${index}`));
      const seen = new Set(history.map((h) => canonicalJson(h.values)));
      if (seen.size >= spaceSize(axes)) return undefined;
      let values = proposeTpe(axes, history, rng, options);
      for (let tries = 0; seen.has(canonicalJson(values)) && tries < REDRAWS; tries++)
        values = tries < REDRAWS / 2 ? proposeTpe(axes, history, rng, options) : uniform(axes, rng);
      if (seen.has(canonicalJson(values))) values = firstUnseen(axes, seen) ?? values;
      return asTrial(axes, values);
    },
  };
}

const REDRAWS = 64;

function asTrial(axes: readonly Axis[], values: Record<string, unknown>): Trial {
  const labels = labelsOf(axes, values);
  return { id: trialId(values), values, ...(labels ? { labels } : {}) };
}

function uniform(axes: readonly Axis[], rng: Rng): Record<string, unknown> {
  return Object.fromEntries(axes.map((a) => [a.key, drawAxis(rng, a)]));
}

/** A finite space's first point not tried yet, in the grid's order (a small space nearly used up). */
function firstUnseen(axes: readonly Axis[], seen: Set<string>): Record<string, unknown> | undefined {
  if (!Number.isFinite(spaceSize(axes)) || spaceSize(axes) > 100_000) return undefined;
  let points: Record<string, unknown>[] = [{}];
  for (const a of axes) points = points.flatMap((p) => (axisValues(a) ?? []).map((v) => ({ ...p, [a.key]: v })));
  return points.find((p) => !seen.has(canonicalJson(p)));
}

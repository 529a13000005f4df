import type { Rng } from '../../stage-contract/random.js';
import { drawAxis, position, type Axis } from './space.js';
import { categoricalEstimator, numericEstimator, type Estimator } from './parzen.js';

/** A trial as the search sees it: its values and how it went. */
export interface Observation {
  values: Record<string, unknown>;
  /** `complete`: scored; `pruned`: stopped at `rung` epochs with `score` there; `running`: not known yet. */
  state: 'complete' | 'pruned' | 'running';
  /** Lower is better (a maximised objective is negated by the caller). */
  score?: number;
  /** A pruned trial's last rung (epochs): the later it was stopped, the better it ranks. */
  rung?: number;
}

export interface TpeOptions {
  /** Proposals drawn at random before the model takes over. */
  startup: number;
  /** Candidates drawn from the good trials' density; the best ratio wins. */
  candidates: number;
}

/**
 * The next point of a Tree-structured Parzen Estimator search (Bergstra et al. 2011), each
 * axis on its own as Optuna's default (univariate) TPESampler does: the observed trials split
 * into the best γ(n) = min(⌈n/10⌉, 25) and the rest, one Parzen density per group, and the
 * candidate drawn from the good density with the highest l(x)/g(x) wins. Trials still
 * running count among the rest (a "constant liar"), so parallel workers spread out.
 */
export function proposeTpe(
  axes: readonly Axis[],
  observations: readonly Observation[],
  rng: Rng,
  o: TpeOptions,
): Record<string, unknown> {
  const done = observations.filter((x) => x.state !== 'running');
  if (done.length < o.startup || done.length === 0)
    return Object.fromEntries(axes.map((a) => [a.key, drawAxis(rng, a)]));
  const ranked = rank(done);
  const nBelow = Math.min(Math.ceil(0.1 * ranked.length), 25);
  const below = new Set(ranked.slice(0, nBelow));
  // Each group in trial order: the density's weights favour recent trials.
  const good = observations.filter((x) => below.has(x));
  const bad = observations.filter((x) => !below.has(x));
  const values: Record<string, unknown> = {};
  for (const a of axes) {
    const l = estimator(a, good);
    const g = estimator(a, bad);
    let best = NaN;
    let bestScore = -Infinity;
    for (let i = 0; i < o.candidates; i++) {
      const x = l.sample(rng);
      const s = l.logPdf(x) - g.logPdf(x);
      if (s > bestScore) [best, bestScore] = [x, s];
    }
    values[a.key] = fromAxis(a, best);
  }
  return values;
}

/** Complete trials by score, then pruned ones: stopped later first, then by their score there. */
function rank(done: readonly Observation[]): Observation[] {
  const complete = done.filter((x) => x.state === 'complete').sort((a, b) => a.score! - b.score!);
  const pruned = done
    .filter((x) => x.state === 'pruned')
    .sort((a, b) => (b.rung ?? 0) - (a.rung ?? 0) || (a.score ?? Infinity) - (b.score ?? Infinity));
  return [...complete, ...pruned];
}

function estimator(a: Axis, group: readonly Observation[]): Estimator {
  if (a.kind === 'categorical')
    return categoricalEstimator(
      group.map((x) => position(a, x.values[a.key])).filter((i) => i >= 0),
      a.values.length,
    );
  const [low, high] =
    a.kind === 'int' ? [a.low - 0.5, a.high + 0.5] : a.log ? [Math.log(a.low), Math.log(a.high)] : [a.low, a.high];
  const xs = group.map((x) => toAxis(a, x.values[a.key])).filter((x) => Number.isFinite(x));
  return numericEstimator(xs, low, high);
}

function toAxis(a: Axis, v: unknown): number {
  if (typeof v !== 'number') return NaN;
  return a.kind === 'float' && a.log ? Math.log(v) : v;
}

function fromAxis(a: Axis, x: number): unknown {
  if (a.kind === 'categorical') return a.values[x];
  if (a.kind === 'int') return Math.min(a.high, Math.max(a.low, Math.round(x)));
  return a.log ? Math.min(a.high, Math.max(a.low, Math.exp(x))) : x;
}

import type { Rng } from '../../stage-contract/random.js';

// Univariate Parzen estimators as the Tree-structured Parzen Estimator uses them
// (Bergstra et al., "Algorithms for Hyper-Parameter Optimization", NeurIPS 2011), with the
// kernel widths, weights and prior Optuna's TPESampler uses by default: a prior kernel of
// weight 1 over the whole range, each observation's width the larger gap to its neighbours,
// clipped to [range / min(100, kernels + 1), range], and the oldest observations' weight ramped
// down once there are more than 25.

/** One axis's density over its (transformed) range: a sample and a log density. */
export interface Estimator {
  sample(rng: Rng): number;
  logPdf(x: number): number;
}

/** Observation weights: older ones count less once there are more than 25 (Optuna's default_weights). */
export function observationWeights(n: number): number[] {
  if (n < 25) return Array.from({ length: n }, () => 1);
  const ramp = n - 25;
  return [
    ...Array.from({ length: ramp }, (_, i) => (ramp === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (ramp - 1))),
    ...Array.from({ length: 25 }, () => 1),
  ];
}

/** A mixture of normals truncated to [low, high] over `xs` (in the axis's transformed space: log for log axes). */
export function numericEstimator(xs: readonly number[], low: number, high: number): Estimator {
  const range = high - low;
  const prior = 0.5 * (low + high);
  const mus = [...xs, prior];
  const sigmas = [...neighbourWidths(xs, low, high, prior), range];
  const w = normalise([...observationWeights(xs.length), 1]);
  const mass = mus.map((m, i) => normalCdf((high - m) / sigmas[i]!) - normalCdf((low - m) / sigmas[i]!));
  return {
    sample(rng) {
      const k = pick(rng, w);
      for (let tries = 0; tries < 100; tries++) {
        const x = mus[k]! + sigmas[k]! * rng.standardNormal();
        if (x >= low && x <= high) return x;
      }
      return Math.min(high, Math.max(low, mus[k]!)); // a kernel almost outside the range
    },
    logPdf(x) {
      let p = 0;
      for (let i = 0; i < mus.length; i++) {
        const z = (x - mus[i]!) / sigmas[i]!;
        p += (w[i]! * Math.exp(-0.5 * z * z)) / (SQRT_2PI * sigmas[i]! * Math.max(mass[i]!, 1e-12));
      }
      return Math.log(Math.max(p, 1e-300));
    },
  };
}

/** Choice probabilities: each observation adds its weight to its choice, the prior spreads 1 over all. */
export function categoricalEstimator(indices: readonly number[], choices: number): Estimator {
  const kernels = indices.length + 1;
  const w = normalise([...observationWeights(indices.length), 1]);
  const p = Array.from({ length: choices }, () => 0);
  for (let k = 0; k < kernels; k++) {
    // Each kernel's row: prior_weight / kernels on every choice, +1 on the observed one; rows sum to 1.
    const row = Array.from({ length: choices }, () => 1 / kernels);
    if (k < indices.length) row[indices[k]!]! += 1;
    const sum = row.reduce((a, b) => a + b, 0);
    for (let c = 0; c < choices; c++) p[c]! += (w[k]! * row[c]!) / sum;
  }
  return {
    sample: (rng) => pick(rng, p),
    logPdf: (x) => Math.log(Math.max(p[x] ?? 0, 1e-300)),
  };
}

/** Each observation's width: the larger gap to its neighbours among the observations, the prior's centre and the range's ends. */
function neighbourWidths(xs: readonly number[], low: number, high: number, prior: number): number[] {
  const all = [...xs, prior];
  const order = all.map((_, i) => i).sort((a, b) => all[a]! - all[b]! || a - b);
  const sorted = [low, ...order.map((i) => all[i]!), high];
  const widths = new Array<number>(all.length);
  order.forEach((idx, j) => {
    const s = j + 1;
    let width = Math.max(sorted[s]! - sorted[s - 1]!, sorted[s + 1]! - sorted[s]!);
    // The ends' neighbours are inner points, not the range's ends (consider_endpoints = false).
    if (sorted.length >= 4 && j === 0) width = sorted[2]! - sorted[1]!;
    if (sorted.length >= 4 && j === order.length - 1) width = sorted[sorted.length - 2]! - sorted[sorted.length - 3]!;
    widths[idx] = width;
  });
  const kernels = xs.length + 1;
  const min = (high - low) / Math.min(100, 1 + kernels);
  return widths.slice(0, xs.length).map((s) => Math.min(high - low, Math.max(min, s)));
}

function normalise(w: number[]): number[] {
  const sum = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / sum);
}

function pick(rng: Rng, p: readonly number[]): number {
  let u = rng.next();
  for (let i = 0; i < p.length; i++) {
    u -= p[i]!;
    if (u < 0) return i;
  }
  return p.length - 1;
}

const SQRT_2PI = Math.sqrt(2 * Math.PI);

/** Φ(z), from erfc (W. J. Cody's rational approximations are overkill here: 1e-7 is plenty to rank candidates). */
function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/** Complementary error function, Numerical Recipes' erfcc (fractional error < 1.2e-7). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

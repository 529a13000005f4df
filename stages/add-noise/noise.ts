import type { Rng } from '../../src/stage-contract/random.js';

// One curve's noise steps, each in place on a float64 copy of the curve. Each
// step draws from its own stream, in point order, so its draws do not depend on
// which other steps are on (see index.ts).

/** Root mean square (not std: an offset counts as signal). */
export function rms(y: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < y.length; j++) {
    const v = y[j] as number;
    s += v * v;
  }
  return y.length === 0 ? 0 : Math.sqrt(s / y.length);
}

/** Adds sigma × N(0, 1) to every value; one normal draw per point. */
export function addGaussian(y: Float64Array, sigma: number, rng: Rng): void {
  for (let j = 0; j < y.length; j++) y[j] = (y[j] as number) + sigma * rng.standardNormal();
}

/** y ← Poisson(max(y, 0)·scale) / scale: counting noise with `scale` counts per unit of y. */
export function applyPoisson(y: Float64Array, scale: number, rng: Rng): void {
  for (let j = 0; j < y.length; j++) y[j] = rng.poisson(Math.max(y[j] as number, 0) * scale) / scale;
}

/**
 * Each point, with probability `rate`, gets ± size added. Two uniform draws per
 * point (decide, then sign) whether or not it becomes an outlier, so the outliers
 * at a lower rate are a subset of those at a higher rate for the same seed.
 */
export function addOutliers(y: Float64Array, rate: number, size: number, rng: Rng): void {
  for (let j = 0; j < y.length; j++) {
    const hit = rng.next() < rate;
    const sign = rng.next() < 0.5 ? -1 : 1;
    if (hit) y[j] = (y[j] as number) + sign * size;
  }
}

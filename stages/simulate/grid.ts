import type { Rng } from '../../src/stage-contract/random.js';

export interface GridParams {
  readonly start: number;
  readonly stop: number;
  readonly points: number;
  /** Std of the per-dataset gaussian jitter of each x, in units of the grid step. */
  readonly jitter: number;
}

/** `points` evenly spaced values from start to stop inclusive, like numpy.linspace. */
export function linspace(start: number, stop: number, points: number): Float64Array {
  const out = new Float64Array(points);
  const step = (stop - start) / (points - 1);
  for (let j = 0; j < points; j++) out[j] = start + j * step;
  // start + (points-1)·step can miss stop by an ulp; users compare the last x to `stop`.
  out[points - 1] = stop;
  return out;
}

export function gridStep(grid: GridParams): number {
  return (grid.stop - grid.start) / (grid.points - 1);
}

/**
 * One dataset's x values into `out`: the base grid, plus (when jitter > 0) one
 * standard-normal draw per point, in point order, scaled by jitter × step.
 */
export function fillX(out: Float64Array, base: Float64Array, jitterStd: number, rng: Rng): void {
  if (jitterStd === 0) {
    out.set(base);
    return;
  }
  for (let j = 0; j < base.length; j++) out[j] = base[j]! + jitterStd * rng.standardNormal();
}

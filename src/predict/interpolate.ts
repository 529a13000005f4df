import { ParamflowError } from '../util/errors.js';

/**
 * y sampled on `grid` by linear interpolation of (x, y). Refuses to extrapolate: a grid
 * point outside [min x, max x] (beyond a rounding tolerance) would be a guess.
 */
export function interpolateOnto(
  x: Float64Array,
  y: Float64Array,
  grid: ArrayLike<number>,
  curve: number,
  file: string,
): Float64Array {
  const order = Array.from(x.keys()).sort((a, b) => x[a]! - x[b]!);
  const xs = Float64Array.from(order, (i) => x[i]!);
  const ys = Float64Array.from(order, (i) => y[i]!);
  const lo = xs[0]!;
  const hi = xs[xs.length - 1]!;
  const gmin = grid[0]!;
  const gmax = grid[grid.length - 1]!;
  // A trained grid averaged over jittered curves ends a hair outside [start, stop]:
  // a few hundredths of a grid step is not extrapolation.
  const tol = Math.max(
    1e-9 * Math.max(1, Math.abs(hi - lo)),
    (0.05 * Math.abs(gmax - gmin)) / Math.max(1, grid.length - 1),
  );
  if (gmin < lo - tol || gmax > hi + tol) {
    throw new ParamflowError(
      'PF_BAD_DATA',
      `curve ${curve} covers x ∈ [${lo}, ${hi}], but the model was trained on x ∈ [${round(gmin)}, ${round(gmax)}]`,
      {
        location: { file },
        hint: 'predicting outside the measured range would extrapolate; measure over the trained x range, or train on the range you have',
      },
    );
  }
  const out = new Float64Array(grid.length);
  let j = 0;
  for (let g = 0; g < grid.length; g++) {
    const t = Math.min(Math.max(grid[g]!, lo), hi);
    while (j < xs.length - 2 && xs[j + 1]! < t) j++;
    const x0 = xs[j]!;
    const x1 = xs[j + 1] ?? x0;
    const w = x1 === x0 ? 0 : (t - x0) / (x1 - x0);
    out[g] = ys[j]! * (1 - w) + (ys[j + 1] ?? ys[j]!) * w;
  }
  return out;
}

const round = (v: number) => Number(v.toPrecision(6));

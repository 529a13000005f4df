// Sample statistics for tests that compare random output to the distribution it
// should follow, with tolerances in standard errors rather than hard-coded values.

export function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i] as number;
  return s / xs.length;
}

/** Sample standard deviation (n - 1 denominator). */
export function std(xs: ArrayLike<number>): number {
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += ((xs[i] as number) - m) ** 2;
  return Math.sqrt(s / (xs.length - 1));
}

/** Every `stride`-th value starting at `offset`: one column of a row-major matrix. */
export function column(data: ArrayLike<number>, stride: number, offset: number): number[] {
  const out: number[] = [];
  for (let i = offset; i < data.length; i += stride) out.push(data[i] as number);
  return out;
}

/** Five standard errors of the mean of n draws with standard deviation sigma. */
export function meanTolerance(sigma: number, n: number): number {
  return (5 * sigma) / Math.sqrt(n);
}

/** Five standard errors of the sample std of n normal draws (sigma/√(2n)); generous for lighter tails. */
export function stdTolerance(sigma: number, n: number): number {
  return (5 * sigma) / Math.sqrt(2 * n);
}

export function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

import { describe, expect, it } from 'vitest';
import { deriveSeed, Rng } from '../../src/stage-contract/random.js';
import { mean, meanTolerance, std, stdTolerance } from '../helpers/stats.js';

const N = 20000;

function draws(f: (r: Rng) => number, seed = 42, n = N): number[] {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => f(r));
}

describe('Rng', () => {
  it('next() is uniform on [0, 1)', () => {
    const u = draws((r) => r.next());
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    expect(Math.abs(mean(u) - 0.5)).toBeLessThan(meanTolerance(Math.sqrt(1 / 12), N));
    expect(Math.abs(std(u) - Math.sqrt(1 / 12))).toBeLessThan(stdTolerance(Math.sqrt(1 / 12), N));
  });

  it('spreads the first draw over [0, 1) even for small, nearby seeds', () => {
    // Seeding straight into the state made next() ≈ 1 for every small seed.
    const first = Array.from({ length: 2000 }, (_, seed) => new Rng(seed).next());
    expect(Math.abs(mean(first) - 0.5)).toBeLessThan(meanTolerance(Math.sqrt(1 / 12), first.length));
    expect(first.filter((u) => u < 0.5).length).toBeGreaterThan(900);
  });

  it('uniform(low, high) stays in range with the right mean', () => {
    const u = draws((r) => r.uniform(-3, 5));
    expect(Math.min(...u)).toBeGreaterThanOrEqual(-3);
    expect(Math.max(...u)).toBeLessThan(5);
    expect(Math.abs(mean(u) - 1)).toBeLessThan(meanTolerance(8 / Math.sqrt(12), N));
  });

  it('normal(mean, std) has that mean and std, and standard normals are uncorrelated pairwise', () => {
    const z = draws((r) => r.normal(2, 3));
    expect(Math.abs(mean(z) - 2)).toBeLessThan(meanTolerance(3, N));
    expect(Math.abs(std(z) - 3)).toBeLessThan(stdTolerance(3, N));
    const s = draws((r) => r.standardNormal());
    let c = 0;
    for (let i = 0; i + 1 < s.length; i += 2) c += s[i]! * s[i + 1]!;
    expect(Math.abs(c / (N / 2))).toBeLessThan(meanTolerance(1, N / 2));
  });

  it('standardNormal() has the normal shape: a chi-square over 66 bins, and the tail beyond the ziggurat tables (3.44)', () => {
    const n = 1_000_000;
    const bins = 64;
    const [lo, hi] = [-4, 4];
    const counts = new Array<number>(bins + 2).fill(0);
    let beyond = 0;
    const r = new Rng(5);
    for (let i = 0; i < n; i++) {
      const z = r.standardNormal();
      counts[z < lo ? 0 : z >= hi ? bins + 1 : 1 + Math.floor(((z - lo) / (hi - lo)) * bins)]! += 1;
      if (Math.abs(z) > 3.5) beyond++;
    }
    const edge = (k: number) => lo + ((hi - lo) * k) / bins;
    let chi2 = 0;
    for (let k = 0; k < bins + 2; k++) {
      const p =
        k === 0 ? normalCdf(lo) : k === bins + 1 ? 1 - normalCdf(hi) : normalCdf(edge(k)) - normalCdf(edge(k - 1));
      chi2 += (counts[k]! - n * p) ** 2 / (n * p);
    }
    // 65 degrees of freedom: mean 65, sd √130 ≈ 11.4. Accepting every wedge draw (a
    // broken ziggurat) gives ~250 here.
    expect(chi2).toBeLessThan(65 + 5 * Math.sqrt(130));
    const pTail = 0.0004652582; // P(|z| > 3.5) = erfc(3.5 / √2)
    expect(Math.abs(beyond / n - pTail)).toBeLessThan(5 * Math.sqrt(pTail / n));
  });

  it('loguniform(low, high) is uniform in log space', () => {
    const l = draws((r) => Math.log(r.loguniform(0.001, 10)));
    const [lo, hi] = [Math.log(0.001), Math.log(10)];
    expect(Math.min(...l)).toBeGreaterThanOrEqual(lo - 1e-12);
    expect(Math.max(...l)).toBeLessThanOrEqual(hi + 1e-12);
    expect(Math.abs(mean(l) - (lo + hi) / 2)).toBeLessThan(meanTolerance((hi - lo) / Math.sqrt(12), N));
  });

  it('int(n) hits every value of [0, n) about equally often', () => {
    const k = 10;
    const counts = new Array<number>(k).fill(0);
    for (const v of draws((r) => r.int(k))) counts[v] = (counts[v] ?? 0) + 1;
    expect(counts.reduce((a, b) => a + b, 0)).toBe(N);
    const p = 1 / k;
    for (const c of counts) expect(Math.abs(c / N - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / N));
  });

  it.each([0.5, 4, 60, 2000])('poisson(%f) has mean and variance λ', (lambda) => {
    const n = lambda > 100 ? 5000 : N;
    const k = draws((r) => r.poisson(lambda), 42, n);
    expect(k.every((v) => Number.isInteger(v) && v >= 0)).toBe(true);
    expect(Math.abs(mean(k) - lambda)).toBeLessThan(meanTolerance(Math.sqrt(lambda), n));
    // Sample variance of Poisson(λ) has variance ≈ (μ4 - σ⁴)/n, μ4 = λ(1 + 3λ).
    const se = Math.sqrt((lambda * (1 + 3 * lambda) - lambda ** 2) / n);
    expect(Math.abs(std(k) ** 2 - lambda)).toBeLessThan(5 * se);
    expect(new Rng(1).poisson(0)).toBe(0);
  });

  it('shuffle() permutes in place, every position equally likely', () => {
    const a = Int32Array.from({ length: 50 }, (_, i) => i);
    new Rng(9).shuffle(a);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const r = new Rng(10);
    const first = new Array<number>(5).fill(0);
    for (let t = 0; t < N; t++) first[r.shuffle([0, 1, 2, 3, 4])[0]!]! += 1;
    for (const c of first) expect(Math.abs(c / N - 0.2)).toBeLessThan(5 * Math.sqrt(0.16 / N));
  });

  it('repeats exactly for a seed and differs for another', () => {
    const seq = (seed: number) => draws((r) => r.normal(0, 1) + r.next() + r.poisson(3), seed, 100);
    expect(seq(7)).toEqual(seq(7));
    expect(seq(7)).not.toEqual(seq(8));
  });
});

describe('deriveSeed', () => {
  it('is a stable 32-bit unsigned value that depends on both the seed and the stage name', () => {
    const s = deriveSeed(7, 'simulate');
    expect(s).toBe(deriveSeed(7, 'simulate'));
    expect(Number.isInteger(s) && s >= 0 && s < 2 ** 32).toBe(true);
    expect(deriveSeed(7, 'noise')).not.toBe(s);
    expect(deriveSeed(8, 'simulate')).not.toBe(s);
  });
});

/** Φ(x) by Simpson's rule on the density (ample for bins of a chi-square test). */
function normalCdf(x: number): number {
  const steps = 400;
  const h = Math.abs(x) / steps;
  let sum = 0;
  for (let k = 0; k <= steps; k++) sum += (k === 0 || k === steps ? 1 : k % 2 ? 4 : 2) * Math.exp(-((k * h) ** 2) / 2);
  const half = (sum * h) / 3 / Math.sqrt(2 * Math.PI);
  return x >= 0 ? 0.5 + half : 0.5 - half;
}

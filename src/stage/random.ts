import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import { createHash } from 'node:crypto';

// A seeded source of random numbers for stages. Every draw goes through here so
// that the same seed gives the same bytes on every run of the same build.
export class Rng {
  private readonly gen: ReturnType<typeof xoroshiro128plusFromState>;
  private spare: number | undefined;

  constructor(seed: number) {
    // pure-rand's xoroshiro128plus(seed) makes the first output ~seed, so small
    // user seeds (0, 1, 7…) would all start with next() ≈ 1; scramble the seed
    // into the whole 128-bit state instead.
    this.gen = xoroshiro128plusFromState(seedState(seed));
  }

  /** Uniform on [0, 1) with 53 random bits. */
  next(): number {
    const hi = (this.gen.next() >>> 0) >>> 5; // 27 bits
    const lo = (this.gen.next() >>> 0) >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** Log-uniform on [low, high], both > 0. */
  loguniform(low: number, high: number): number {
    return Math.exp(this.uniform(Math.log(low), Math.log(high)));
  }

  /** Standard normal by the Marsaglia polar method (keeps the spare draw). */
  standardNormal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * m;
    return u * m;
  }

  normal(mean: number, std: number): number {
    return mean + std * this.standardNormal();
  }

  /** Integer on [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Poisson draw: Knuth for small means, a rounded normal approximation for large ones. */
  poisson(lambda: number): number {
    if (lambda <= 0) return 0;
    if (lambda > 500) return Math.max(0, Math.round(this.normal(lambda, Math.sqrt(lambda))));
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
}

/** Four distinct 32-bit state words from one seed (splitmix32: golden-ratio steps, murmur3 finalizer). */
function seedState(seed: number): number[] {
  const state: number[] = [];
  for (let i = 1; i <= 4; i++) state.push(mix32((seed + Math.imul(i, 0x9e3779b9)) | 0));
  // mix32 is a bijection and its inputs differ, so at most one word is 0: never the all-zero state.
  return state;
}

function mix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** A stage's seed from the pipeline seed and the stage name (Conventions: Seeds). */
export function deriveSeed(pipelineSeed: number, stageName: string): number {
  const digest = createHash('sha256').update(`paramflow-seed:${pipelineSeed}:${stageName}`).digest();
  return digest.readUInt32LE(0);
}

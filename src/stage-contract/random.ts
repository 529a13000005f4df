import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import { createHash } from 'node:crypto';

// A seeded source of random numbers for stages. Every draw goes through here so
// that the same seed gives the same bytes on every run of the same build.
export class Rng {
  private readonly gen: ReturnType<typeof xoroshiro128plusFromState>;

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

  /**
   * Standard normal by the ziggurat method (Marsaglia & Tsang 2000, in Doornik's 2005
   * form with the layer drawn apart from the value; tables below). Two 32-bit draws
   * give the 53-bit magnitude (as next() builds it) and, from the 11 bits next() drops,
   * the layer (7 bits) and the sign; ~98.8% of draws end there, the rest draw more for
   * the wedges or the tail. About 3× faster than the polar method it replaced (the
   * simulate and add-noise stages are mostly normal draws); it draws a different
   * stream, so results from before the change differ (same distribution).
   */
  standardNormal(): number {
    for (;;) {
      const a = this.gen.next();
      const b = this.gen.next();
      const u = ((a >>> 5) * 67108864 + (b >>> 6)) / 9007199254740992;
      const i = (b & 63) | ((a & 1) << 6);
      const negative = (a & 2) !== 0;
      if (u < ZIG_RATIO[i]!) {
        const z = u * ZIG_X[i]!;
        return negative ? -z : z;
      }
      if (i === 0) {
        // The base layer's part beyond R: the tail, by Marsaglia's exponential rejection.
        let x: number;
        let y: number;
        do {
          x = Math.log(1 - this.next()) / ZIG_R; // 1 - next() is in (0, 1]: never log(0)
          y = Math.log(1 - this.next());
        } while (-2 * y < x * x);
        return negative ? x - ZIG_R : ZIG_R - x;
      }
      // A wedge: accept x with the density's share of the strip at x.
      const x = u * ZIG_X[i]!;
      const f0 = Math.exp(-0.5 * (ZIG_X[i]! * ZIG_X[i]! - x * x));
      const f1 = Math.exp(-0.5 * (ZIG_X[i + 1]! * ZIG_X[i + 1]! - x * x));
      if (f1 + this.next() * (f0 - f1) < 1) return negative ? -x : x;
    }
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

// Ziggurat tables: 128 layers of equal area ZIG_V under exp(-x²/2), the base layer
// being [0, R]×[0, f(R)] plus the tail beyond R. ZIG_X[i] is layer i's right edge
// (ZIG_X[0] = V / f(R): the base as one rectangle), ZIG_RATIO[i] = ZIG_X[i+1] / ZIG_X[i]
// the part of layer i entirely under the curve. Computed once: Math.exp/log/sqrt are
// the same in every run of a Node build, so the tables and the stream are too.
const ZIG_LAYERS = 128;
const ZIG_R = 3.442619855899;
const ZIG_V = 9.91256303526217e-3;
const ZIG_X = new Float64Array(ZIG_LAYERS + 1);
const ZIG_RATIO = new Float64Array(ZIG_LAYERS);
{
  let f = Math.exp(-0.5 * ZIG_R * ZIG_R);
  ZIG_X[0] = ZIG_V / f;
  ZIG_X[1] = ZIG_R;
  for (let i = 2; i < ZIG_LAYERS; i++) {
    ZIG_X[i] = Math.sqrt(-2 * Math.log(ZIG_V / ZIG_X[i - 1]! + f));
    f = Math.exp(-0.5 * ZIG_X[i]! * ZIG_X[i]!);
  }
  for (let i = 0; i < ZIG_LAYERS; i++) ZIG_RATIO[i] = ZIG_X[i + 1]! / ZIG_X[i]!;
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

/** A stage's seed from the pipeline seed and the stage name (docs/conventions.md, Seeds). */
export function deriveSeed(pipelineSeed: number, stageName: string): number {
  const digest = createHash('sha256').update(`paramflow-seed:${pipelineSeed}:${stageName}`).digest();
  return digest.readUInt32LE(0);
}

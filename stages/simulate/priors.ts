import type { Rng } from '../../src/stage-contract/random.js';

// A prior is an object with exactly one key (the schema enforces it), so the
// YAML reads `A: { uniform: [0.5, 2] }`.
export type Prior =
  | { readonly uniform: readonly [number, number] }
  | { readonly loguniform: readonly [number, number] }
  | { readonly normal: readonly [number, number] }
  | { readonly fixed: number };

export type PriorKind = 'uniform' | 'loguniform' | 'normal' | 'fixed';

export function priorKind(prior: Prior): PriorKind {
  if ('uniform' in prior) return 'uniform';
  if ('loguniform' in prior) return 'loguniform';
  if ('normal' in prior) return 'normal';
  return 'fixed';
}

/** One draw; `fixed` consumes no random numbers, so fixing a parameter shifts later draws. */
export function samplePrior(rng: Rng, prior: Prior): number {
  if ('uniform' in prior) return rng.uniform(prior.uniform[0], prior.uniform[1]);
  if ('loguniform' in prior) return rng.loguniform(prior.loguniform[0], prior.loguniform[1]);
  if ('normal' in prior) return rng.normal(prior.normal[0], prior.normal[1]);
  return prior.fixed;
}

/** Whether a draw from `prior` can be below zero, for checks such as power-law at x = 0. */
export function priorAllowsNegative(prior: Prior): boolean {
  if ('uniform' in prior) return prior.uniform[0] < 0;
  if ('loguniform' in prior) return false;
  if ('normal' in prior) return prior.normal[1] > 0 || prior.normal[0] < 0;
  return prior.fixed < 0;
}

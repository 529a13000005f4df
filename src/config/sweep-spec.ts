import { parse as parseYaml } from 'yaml';
import { ParamflowError, type SourceLocation } from '../util/errors.js';

export type Distribution =
  { uniform: [number, number] } | { loguniform: [number, number] } | { int: [number, number] } | { choice: unknown[] };

/**
 * A grid key's values: a list, or named choices (`{ linear-output: [...], bn-output: [...] }`)
 * whose names stand for the values in run names, MLflow params (`<key>.choice`), plots and
 * tables. A name never enters a stage key: the trial runs with the value.
 */
export type GridValues = unknown[] | Record<string, unknown>;

/** A grid key's values in order, with their names when they are named choices. */
export function gridValues(v: GridValues): { values: unknown[]; names?: string[] } {
  return Array.isArray(v) ? { values: v } : { values: Object.values(v), names: Object.keys(v) };
}

/** The `sweep:` section (validated by the pipeline schema), merged with `--sweep` flags. */
export interface SweepSpec {
  grid?: Record<string, GridValues>;
  /** `trials` is required without `tpe` (checked where it can be located: prepareSweep). */
  random?: { trials?: number; params: Record<string, Distribution> };
  /** Model-based search over the grid's keys and the random block's distributions. */
  tpe?: { startup?: number; candidates?: number; seed?: number };
  budget?: { trials?: number; minutes?: number };
  prune?: PruneSpec;
  replicates: number;
  objective: { metric: string; goal: 'minimize' | 'maximize' };
}

/** `sweep.prune`: stop a trial whose fold 0 trains worse than the others' at the rung epochs. */
export interface PruneSpec {
  method: 'asha' | 'median';
  min_epochs?: number;
  reduction_factor?: number;
  interval?: number;
  startup?: number;
}

export const DEFAULT_OBJECTIVE: SweepSpec['objective'] = { metric: 'cv_rmse_mean', goal: 'minimize' };

/** Where each sweep key was written, for errors in its values. */
export type SweepLocations = Record<string, SourceLocation>;

/** The most trials one sweep may have (docs/reliability.md). Each is validated and recorded: past this, memory and time run out before a trial starts. */
export const MAX_TRIALS = 100_000;

/** Trials before duplicates are merged: the grid's product times the random draws. Counted, never expanded. */
export function trialCount(spec: Pick<SweepSpec, 'grid' | 'random' | 'tpe' | 'budget'>): number {
  if (spec.tpe) return spec.budget?.trials ?? 1;
  let n = spec.random?.trials ?? 1;
  for (const values of Object.values(spec.grid ?? {})) n *= gridValues(values).values.length;
  return n;
}

/**
 * Refuses a sweep of more than MAX_TRIALS trials before anything is expanded, located at the
 * key whose values carry the count past the cap (a `--sweep` flag's is the command line).
 */
export function checkSweepSize(
  spec: Pick<SweepSpec, 'grid' | 'random' | 'tpe' | 'budget'>,
  locations: Readonly<Record<string, SourceLocation | undefined>>,
  fallback: SourceLocation,
): void {
  const total = trialCount(spec);
  if (total <= MAX_TRIALS) return;
  let n = spec.random?.trials ?? 1;
  let culprit: string | undefined;
  for (const [key, values] of Object.entries(spec.grid ?? {})) {
    n *= gridValues(values).values.length;
    if (n > MAX_TRIALS) {
      culprit = key;
      break;
    }
  }
  const sizes = [
    ...Object.entries(spec.grid ?? {}).map(([k, v]) => `${k}: ${gridValues(v).values.length}`),
    ...(spec.random ? [`random.trials: ${spec.random.trials}`] : []),
  ];
  throw new ParamflowError(
    'PF_SCHEMA',
    `the sweep has ${Number.isSafeInteger(total) ? total.toLocaleString('en-US') : total.toExponential(2)} trials (${sizes.join(' × ')}); at most ${MAX_TRIALS.toLocaleString('en-US')} are allowed`,
    {
      location: (culprit && locations[culprit]) || fallback,
      hint: 'sweep fewer values per key, or split the sweep into several (a random search samples a large space in fewer trials)',
    },
  );
}

/**
 * `--sweep train.batch_size=16,32,64` (or `=[16, 32, 64]`) → a grid key and its values,
 * each value parsed as YAML (numbers stay numbers).
 */
export function parseSweepFlag(text: string, column?: number): [string, unknown[]] {
  const location: SourceLocation = { file: '<command line>', line: 1, column: column ?? 1 };
  const eq = text.indexOf('=');
  if (eq <= 0 || eq === text.length - 1) {
    throw new ParamflowError('PF_BAD_OVERRIDE', `--sweep ${text}: expected KEY=V1,V2,…`, {
      location,
      hint: 'e.g. --sweep train.batch_size=16,32,64',
    });
  }
  const raw = text.slice(eq + 1).trim();
  let values: unknown;
  try {
    values = raw.startsWith('[') ? parseYaml(raw) : raw.split(',').map((v) => parseYaml(v.trim()) as unknown);
  } catch {
    throw new ParamflowError('PF_BAD_OVERRIDE', `--sweep ${text}: the values are not valid YAML`, {
      location,
      hint: 'separate values with commas, or write a list [a, b]',
    });
  }
  if (!Array.isArray(values) || values.length === 0) {
    throw new ParamflowError('PF_BAD_OVERRIDE', `--sweep ${text}: give at least one value`, {
      location,
      hint: 'e.g. --sweep train.batch_size=16,32,64',
    });
  }
  return [text.slice(0, eq), values];
}

/** The file's sweep with the flags' grid keys added (a flag replaces the file's values for its key). */
export function mergeSweep(
  file: Partial<SweepSpec> | undefined,
  flags: readonly [string, unknown[]][],
): SweepSpec | undefined {
  if (!file && flags.length === 0) return undefined;
  const grid = { ...(file?.grid ?? {}), ...Object.fromEntries(flags) };
  return {
    ...(Object.keys(grid).length > 0 ? { grid } : {}),
    ...(file?.random ? { random: file.random } : {}),
    ...(file?.tpe ? { tpe: file.tpe } : {}),
    ...(file?.budget ? { budget: file.budget } : {}),
    ...(file?.prune ? { prune: file.prune } : {}),
    replicates: file?.replicates ?? 1,
    objective: { ...DEFAULT_OBJECTIVE, ...(file?.objective ?? {}) },
  };
}

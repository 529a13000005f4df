import { parse as parseYaml } from 'yaml';
import { ParamflowError, type SourceLocation } from '../errors.js';

export type Distribution = { uniform: [number, number] } | { loguniform: [number, number] } | { int: [number, number] } | { choice: unknown[] };

/** The `sweep:` section (validated by the pipeline schema), merged with `--sweep` flags. */
export interface SweepSpec {
  grid?: Record<string, unknown[]>;
  random?: { trials: number; params: Record<string, Distribution> };
  replicates: number;
  objective: { metric: string; goal: 'minimize' | 'maximize' };
}

export const DEFAULT_OBJECTIVE: SweepSpec['objective'] = { metric: 'cv_rmse_mean', goal: 'minimize' };

/** Where each sweep key was written, for errors in its values. */
export type SweepLocations = Record<string, SourceLocation>;

/**
 * `--sweep train.batch_size=16,32,64` (or `=[16, 32, 64]`) → a grid key and its values,
 * each value parsed as YAML (numbers stay numbers).
 */
export function parseSweepFlag(text: string, column?: number): [string, unknown[]] {
  const location: SourceLocation = { file: '<command line>', line: 1, column: column ?? 1 };
  const eq = text.indexOf('=');
  if (eq <= 0 || eq === text.length - 1) {
    throw new ParamflowError('PF_BAD_OVERRIDE', `--sweep ${text}: expected KEY=V1,V2,…`, { location, hint: 'e.g. --sweep train.batch_size=16,32,64' });
  }
  const raw = text.slice(eq + 1).trim();
  let values: unknown;
  try {
    values = raw.startsWith('[') ? parseYaml(raw) : raw.split(',').map((v) => parseYaml(v.trim()) as unknown);
  } catch {
    throw new ParamflowError('PF_BAD_OVERRIDE', `--sweep ${text}: the values are not valid YAML`, { location, hint: 'separate values with commas, or write a list [a, b]' });
  }
  if (!Array.isArray(values) || values.length === 0) {
    throw new ParamflowError('PF_BAD_OVERRIDE', `--sweep ${text}: give at least one value`, { location, hint: 'e.g. --sweep train.batch_size=16,32,64' });
  }
  return [text.slice(0, eq), values];
}

/** The file's sweep with the flags' grid keys added (a flag replaces the file's values for its key). */
export function mergeSweep(file: Partial<SweepSpec> | undefined, flags: readonly [string, unknown[]][]): SweepSpec | undefined {
  if (!file && flags.length === 0) return undefined;
  const grid = { ...(file?.grid ?? {}), ...Object.fromEntries(flags) };
  return {
    ...(Object.keys(grid).length > 0 ? { grid } : {}),
    ...(file?.random ? { random: file.random } : {}),
    replicates: file?.replicates ?? 1,
    objective: { ...DEFAULT_OBJECTIVE, ...(file?.objective ?? {}) },
  };
}

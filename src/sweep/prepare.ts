import { readFileSync } from 'node:fs';
import { ParamflowError } from '../util/errors.js';
import { loadRunnablePipeline, type RunnablePipeline } from '../pipeline/load.js';
import type { Override } from '../config/spec.js';
import { YamlSource } from '../config/yaml-source.js';
import { builtinRegistry } from '../stage-contract/registry.js';
import { checkSweepSize, type SweepSpec } from '../config/sweep-spec.js';
import { expandTrials, type Trial } from './expand.js';
import { loadWithSweep } from './find.js';
import { searchSpace, type Axis } from './search/space.js';

// A sweep checked before anything runs: its size, its values (each trial validated like a
// `--set` run, located at its sweep key), and what the schema cannot say about its blocks.

/** The sweep of a pipeline (file `sweep:` and `--sweep` flags), or undefined when it has none. */
export async function sweepOf(
  file: string,
  overrides: readonly Override[],
  flags: readonly Override[],
): Promise<{ base: RunnablePipeline; spec: SweepSpec } | undefined> {
  const { base, spec } = await loadWithSweep(file, overrides, flags);
  return spec ? { base, spec } : undefined;
}

/**
 * The sweep's trials, each validated like a `--set` run (a bad value is bad input, exit 2,
 * located at its sweep key), or undefined when the pipeline has no sweep.
 */
export async function prepareSweep(
  file: string,
  overrides: readonly Override[],
  flags: readonly Override[],
  loaded?: { base: RunnablePipeline; spec: SweepSpec },
): Promise<{ base: RunnablePipeline; spec: SweepSpec; trials: Trial[] } | undefined> {
  const found = loaded ?? (await sweepOf(file, overrides, flags));
  if (!found) return undefined;
  const locations = sweepKeyLocations(found.base.file, file, flags);
  checkSweepSize(found.spec, locations, locations[SWEEP_AT] ?? { file: '<command line>', line: 1, column: 1 });
  refuseNonFinite(found.spec, locations);
  checkSearch(found.spec, locations[SWEEP_AT] ?? { file: '<command line>', line: 1, column: 1 });
  // A model-based search's trials are proposed as it goes: its axes' ends are validated instead.
  const trials = found.spec.tpe ? axisProbes(searchSpace(found.spec)) : expandTrials(found.spec, found.base.seed);
  // One read of the file for all trials; loadRunnablePipeline parses it once and copies it per trial.
  const text = readFileSync(found.base.file, 'utf8');
  const registry = await builtinRegistry();
  for (const t of trials)
    await loadRunnablePipeline(file, {
      registry,
      text,
      withoutSweep: true,
      overrides: [...overrides, ...trialOverrides(t, locations)],
    });
  return { ...found, trials: found.spec.tpe ? [] : trials };
}

/** What the schema cannot say about a sweep's blocks together. */
function checkSearch(spec: SweepSpec, at: Override['location'] & object): void {
  const refuse = (message: string, hint: string) => {
    throw new ParamflowError('PF_SCHEMA', message, { location: at, hint });
  };
  if (spec.tpe) {
    if (!spec.budget)
      refuse(
        'sweep.tpe needs a budget: it proposes trials until it is spent',
        'add e.g. `budget: { trials: 30 }` to the sweep',
      );
    if (!spec.grid && !spec.random)
      refuse(
        'sweep.tpe has no space to search',
        'list the keys to search under `grid:` (choices) and `random: { params: … }` (ranges)',
      );
  } else if (spec.random && spec.random.trials === undefined) {
    refuse(
      'sweep.random needs `trials`: how many draws',
      'add e.g. `trials: 20` under `random:`, or add `tpe: {}` for a model-based search',
    );
  }
}

/**
 * A model-based search's validation probes: each axis at each end (every choice, each range's
 * low and high) with the other axes at their first value or low end — bad values are found
 * before a trial runs, as for a grid.
 */
function axisProbes(axes: readonly Axis[]): Trial[] {
  const ends = (a: Axis): unknown[] => (a.kind === 'categorical' ? a.values : [a.low, a.high]);
  const base = Object.fromEntries(axes.map((a) => [a.key, ends(a)[0]]));
  return axes.flatMap((a) => ends(a).map((v) => ({ id: '', values: { ...base, [a.key]: v } })));
}

/** `.inf`, `.nan` or `1e400` among a key's values: no param takes them, and a trial id cannot hash them. */
function refuseNonFinite(spec: SweepSpec, locations: Record<string, Override['location']>): void {
  const lists: [string, unknown][] = [...Object.entries(spec.grid ?? {}), ...Object.entries(spec.random?.params ?? {})];
  for (const [key, values] of lists) {
    if (hasNonFinite(values)) {
      throw new ParamflowError(
        'PF_SCHEMA',
        `sweep key ${key}: a value is not a finite number (.inf, .nan or out of range)`,
        {
          ...(locations[key] ? { location: locations[key] } : {}),
          hint: 'sweep over finite numbers only',
        },
      );
    }
  }
}

function hasNonFinite(root: unknown): boolean {
  const stack = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'number' && !Number.isFinite(v)) return true;
    if (v && typeof v === 'object') stack.push(...Object.values(v));
  }
  return false;
}

/** A trial's values as `--set` overrides, located where the sweep key was written. */
export function trialOverrides(t: Pick<Trial, 'values'>, locations: Record<string, Override['location']>): Override[] {
  return Object.entries(t.values).map(([k, v]) => ({
    text: `${k}=${JSON.stringify(v)}`,
    ...(locations[k] ? { location: locations[k] } : {}),
  }));
}

/** Not a sweep key (those start with a letter): where the file's sweep (or its random.trials) is written. */
const SWEEP_AT = '(sweep)';

function sweepKeyLocations(
  abs: string,
  file: string,
  flags: readonly Override[],
): Record<string, Override['location']> {
  const out: Record<string, Override['location']> = {};
  const src = YamlSource.parse(file, readFileSync(abs, 'utf8'));
  const sweep = (src.toJS() as { sweep?: { grid?: object; random?: { params?: object } } }).sweep;
  for (const k of Object.keys(sweep?.grid ?? {})) out[k] = src.locateKey(['sweep', 'grid'], k);
  for (const k of Object.keys(sweep?.random?.params ?? {})) out[k] = src.locateKey(['sweep', 'random', 'params'], k);
  if (sweep) out[SWEEP_AT] = sweep.random ? src.locateKey(['sweep', 'random'], 'trials') : src.locateKey([], 'sweep');
  for (const f of flags)
    out[f.text.slice(0, f.text.indexOf('='))] = { file: '<command line>', line: 1, column: f.column ?? 1 };
  return out;
}

/** Where the file's `sweep.<block>` is written (the file itself when it is not, e.g. given by flags). */
export function sweepBlockLocation(abs: string, file: string, block: string): NonNullable<Override['location']> {
  const src = YamlSource.parse(file, readFileSync(abs, 'utf8'));
  const sweep = (src.toJS() as { sweep?: Record<string, unknown> }).sweep;
  return sweep && block in sweep ? src.locateKey(['sweep'], block) : { file };
}

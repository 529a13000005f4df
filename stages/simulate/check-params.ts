import { InputErrors, ParamflowError } from '../../src/util/errors.js';
import type { ParamProblem } from '../../src/stage-contract/types.js';
import type { GridParams } from './grid.js';
import { getModel, MODEL_NAMES, type CurveModel, type ModelName } from './models.js';
import { priorAllowsNegative, type Prior } from './priors.js';

/** The validated `with:` of simulate (the schema has filled `x.jitter` and `dtype`). */
export interface SimulateParams {
  readonly n: number;
  /** A built-in model's name, or a module file (`./models/my-curve.ts`, see custom-model.ts). */
  readonly model: ModelName | (string & {});
  readonly x: GridParams;
  readonly params: Readonly<Record<string, Prior>>;
  readonly dtype: 'float32' | 'float64';
}

/** A located problem in `with:`; `pointer` is relative to the stage's `with:`. */
export type ParamIssue = ParamProblem;

// Beyond this, typed arrays cannot be allocated in one piece (and memory runs out first).
export const MAX_VALUES = 2 ** 31 - 1;

/**
 * Checks the schema cannot express: `params` keys must be exactly the model's
 * parameters, ranges must be ordered, the grid must suit the model. Call it after
 * the schema has validated `with:`; it returns [] when the model is unknown (a custom
 * model is checked once loaded: pass it as `custom`).
 */
export function checkSimulateParams(params: SimulateParams, custom?: CurveModel): ParamIssue[] {
  if (!custom && !(MODEL_NAMES as readonly string[]).includes(params.model)) return [];
  const issues: ParamIssue[] = [];
  const model = custom ?? getModel(params.model as ModelName);
  const priors = typeof params.params === 'object' && params.params !== null ? params.params : {};
  const given = Object.keys(priors);
  const missing = model.params.filter((p) => !given.includes(p));
  const signature = `${model.name} (${model.formula}) has parameters ${model.params.join(', ')}`;

  for (const name of given.filter((p) => !model.params.includes(p))) {
    const caseMatch = missing.find((m) => m.toLowerCase() === name.toLowerCase());
    issues.push({
      pointer: `/params/${pointerToken(name)}`,
      message: `model ${model.name} has no parameter ${name}`,
      hint: caseMatch ? `names are case-sensitive: did you mean ${caseMatch}?` : `${signature}; remove ${name}`,
    });
  }
  if (missing.length > 0) {
    const first = missing[0] ?? '';
    issues.push({
      pointer: '/params',
      message: `model ${model.name} needs a prior for ${missing.join(', ')}`,
      hint: `${signature}; add e.g. ${first}: { fixed: 1 } or ${first}: { uniform: [0, 1] }`,
    });
  }
  for (const name of given) {
    const prior = priors[name];
    if (prior) issues.push(...checkRange(name, prior));
  }
  issues.push(...checkGrid(params, model.name));
  return issues;
}

function checkRange(name: string, prior: Prior): ParamIssue[] {
  const range = 'uniform' in prior ? prior.uniform : 'loguniform' in prior ? prior.loguniform : undefined;
  if (!range) return [];
  const kind = 'uniform' in prior ? 'uniform' : 'loguniform';
  const [low, high] = range;
  if (low < high) return [];
  return [
    {
      pointer: `/params/${pointerToken(name)}/${kind}`,
      message: `${kind} range [${low}, ${high}] of ${name} is empty: the first value must be below the second`,
      hint: low === high ? `for a constant write ${name}: { fixed: ${low} }` : `write [${high}, ${low}]`,
    },
  ];
}

function checkGrid(params: SimulateParams, model: string): ParamIssue[] {
  const issues: ParamIssue[] = [];
  const { start, stop, points } = params.x;
  if (!(stop > start)) {
    issues.push({
      pointer: '/x/stop',
      message: `x.stop (${stop}) must be greater than x.start (${start})`,
      hint:
        stop === start
          ? 'the grid runs from start up to stop: make stop greater than start'
          : 'the grid runs from start up to stop; swap the two values',
    });
  }
  if (params.n * points > MAX_VALUES) {
    issues.push({
      pointer: '/n',
      message: `n × x.points = ${params.n * points} values per array, more than the ${MAX_VALUES} paramflow can hold`,
      hint: 'lower n or x.points',
    });
  }
  if (model === 'power-law') {
    const b = params.params.B;
    if (start < 0) {
      issues.push({
        pointer: '/x/start',
        message: `power-law computes x^B, which is not a real number for x < 0 (x.start is ${start})`,
        hint: 'start the grid at x ≥ 0, or at x > 0 if B can be negative',
      });
    } else if (start === 0 && b !== undefined && priorAllowsNegative(b)) {
      issues.push({
        pointer: '/x/start',
        message: 'power-law computes x^B, which is infinite at x = 0 when B < 0, and the prior of B allows B < 0',
        hint: 'start the grid at x > 0, or restrict B to B ≥ 0',
      });
    }
  }
  return issues;
}

/** The error `run()` throws for issues (one error, or all of them together). */
export function issuesToError(issues: readonly ParamIssue[]): ParamflowError {
  const errors = issues.map((i) => new ParamflowError('PF_SCHEMA', i.message, { pointer: i.pointer, hint: i.hint }));
  return errors.length === 1 && errors[0] ? errors[0] : new InputErrors(errors);
}

function pointerToken(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

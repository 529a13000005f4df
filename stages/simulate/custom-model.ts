import { resolve } from 'node:path';
import { ParamflowError, type SourceLocation } from '../../src/util/errors.js';
import { importUserModule } from '../../src/stage-contract/load-module.js';
import type { CurveModel } from './models.js';

/** A user's curve model: y at x for named parameter values. */
export type CurveFunction = (x: number, params: Readonly<Record<string, number>>) => number;

/** What a model module exports: a bare `(x, params) => y`, or this (parameter order and a formula for messages). */
export interface CurveModelModule {
  /** Parameter names, in `targets` column order. */
  readonly params: readonly string[];
  /** The formula as users read it (in error messages). */
  readonly formula?: string;
  readonly evaluate: CurveFunction;
}

/** Declares a custom curve model for `simulate` (`model: ./models/my-curve.ts`). */
export function defineModel(model: CurveModelModule): CurveModelModule {
  return Object.freeze({ ...model, params: [...model.params] });
}

/** `model:` names a module file (relative to the pipeline) rather than a built-in. */
export const isModelFile = (model: string) => model.startsWith('./') || model.startsWith('../');

const EXAMPLE = 'export default (x: number, p: { A: number; B: number }) => p.A * Math.exp(-p.B * x)';

/**
 * Imports a custom model. A bare function's parameters are the names of the priors
 * given, in alphabetical order (the key sorts them too, so the column order cannot
 * depend on how the file is written); defineModel() fixes its own order.
 */
export async function loadCustomModel(
  dir: string,
  written: string,
  priorNames: readonly string[],
  location: SourceLocation,
): Promise<CurveModel> {
  const ns = (await importUserModule(resolve(dir, written), written, location, 'curve model', EXAMPLE)) as Record<
    string,
    unknown
  >;
  const exported = [ns.default, (ns.default as Record<string, unknown> | undefined)?.default, ns.model].find(
    (c) =>
      typeof c === 'function' ||
      (typeof c === 'object' && c !== null && typeof (c as CurveModelModule).evaluate === 'function'),
  ) as CurveFunction | CurveModelModule | undefined;
  if (!exported) {
    throw new ParamflowError('PF_SCHEMA', `curve model ${JSON.stringify(written)} exports no model`, {
      location,
      hint: `export a function (x, params) => y as default, or defineModel({ params, evaluate }): ${EXAMPLE}`,
    });
  }
  const declared = typeof exported === 'function' ? undefined : exported;
  const names = declared ? [...declared.params] : [...priorNames].sort();
  if (
    declared &&
    (!Array.isArray(declared.params) ||
      declared.params.length === 0 ||
      !declared.params.every((p) => typeof p === 'string'))
  ) {
    throw new ParamflowError(
      'PF_SCHEMA',
      `curve model ${JSON.stringify(written)} declares params that are not a list of names`,
      { location, hint: "defineModel({ params: ['A', 'B'], evaluate })" },
    );
  }
  const f = declared ? declared.evaluate : (exported as CurveFunction);
  const values: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  return {
    name: written,
    params: names,
    formula: declared?.formula ?? `y = ${written}(x, { ${names.join(', ')} })`,
    // One params object, refilled per call: the hot loop stays allocation-free.
    evaluate: (x, p) => {
      for (let i = 0; i < names.length; i++) values[names[i]!] = p[i]!;
      return f(x, values);
    },
  };
}

import type { ParamProblem } from '../../src/stage-contract/types.js';

/** A, B, C, …: the parameter names of the simulate models, for targets without names. */
export function defaultTargetNames(k: number): readonly string[] {
  return Array.from({ length: k }, (_, i) => columnLetters(i));
}

/** `target_names` must name every targets column, in order. */
export function targetNamesProblem(given: readonly string[] | undefined, k: number): ParamProblem | undefined {
  if (given === undefined || given.length === k) return undefined;
  return {
    pointer: '/target_names',
    message: `target_names has ${given.length} names (${given.join(', ')}) but \`targets\` has ${k} columns`,
    hint: `give ${k} names, one per targets column in order, or leave target_names out to use ${defaultTargetNames(k).join(', ')}`,
  };
}

/** A, B, …, Z, AA, AB, …: spreadsheet column names, valid metric key parts for any k. */
function columnLetters(i: number): string {
  const head = i >= 26 ? columnLetters(Math.floor(i / 26) - 1) : '';
  return head + String.fromCharCode(65 + (i % 26));
}

// The built-in curve models. A model's parameter order is part of its contract:
// it is the column order of `targets` and the order in which priors are drawn.

export const MODEL_NAMES = [
  'damped-sine',
  'gaussian-peak',
  'exponential-decay',
  'logistic',
  'lorentzian',
  'power-law',
] as const;

export type ModelName = (typeof MODEL_NAMES)[number];

export interface CurveModel {
  /** A built-in's name, or the module file a custom model came from. */
  readonly name: string;
  /** Parameter names, in `targets` column order. */
  readonly params: readonly string[];
  /** The formula as users read it in docs and messages. */
  readonly formula: string;
  /** y at x for parameter values `p` (in `params` order), in float64. */
  evaluate(x: number, p: Float64Array): number;
}

// Parameters are read by position: `p` is reused across datasets, so indexing stays
// allocation-free in the hot loop.
const models: Record<ModelName, CurveModel> = {
  'damped-sine': {
    name: 'damped-sine',
    params: ['A', 'B', 'C', 'D'],
    formula: 'y = A·exp(-B·x)·sin(C·x + D)',
    evaluate: (x, p) => p[0]! * Math.exp(-p[1]! * x) * Math.sin(p[2]! * x + p[3]!),
  },
  'gaussian-peak': {
    name: 'gaussian-peak',
    params: ['A', 'B', 'C', 'D'],
    formula: 'y = A·exp(-(x - B)² / (2·C²)) + D',
    evaluate: (x, p) => {
      const d = x - p[1]!;
      const c = p[2]!;
      return p[0]! * Math.exp(-(d * d) / (2 * c * c)) + p[3]!;
    },
  },
  'exponential-decay': {
    name: 'exponential-decay',
    params: ['A', 'B', 'C'],
    formula: 'y = A·exp(-B·x) + C',
    evaluate: (x, p) => p[0]! * Math.exp(-p[1]! * x) + p[2]!,
  },
  logistic: {
    name: 'logistic',
    params: ['A', 'B', 'C', 'D'],
    formula: 'y = A / (1 + exp(-B·(x - C))) + D',
    evaluate: (x, p) => p[0]! / (1 + Math.exp(-p[1]! * (x - p[2]!))) + p[3]!,
  },
  lorentzian: {
    name: 'lorentzian',
    params: ['A', 'B', 'C', 'D'],
    formula: 'y = A·C² / ((x - B)² + C²) + D',
    evaluate: (x, p) => {
      const d = x - p[1]!;
      const c2 = p[2]! * p[2]!;
      return (p[0]! * c2) / (d * d + c2) + p[3]!;
    },
  },
  'power-law': {
    name: 'power-law',
    params: ['A', 'B', 'C'],
    formula: 'y = A·x^B + C',
    evaluate: (x, p) => p[0]! * Math.pow(x, p[1]!) + p[2]!,
  },
};

export function getModel(name: ModelName): CurveModel {
  return models[name];
}

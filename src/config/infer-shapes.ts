import { ParamflowError } from '../util/errors.js';
import type { ArrayShape, KnownShapes, ShapeInference } from '../stage-contract/types.js';
import type { Locator } from './schema-errors.js';
import type { PipelineSpec, StageSpec } from './spec.js';

/**
 * Shapes flow from stage to stage at validation: each stage in dependency order gets the
 * shapes its providers inferred and reports what cannot fit (a network's output units
 * against the targets' columns, k folds against the datasets), so that `validate` refuses
 * what `run` would only find after computing and caching the stages upstream. A stage
 * without `inferShapes` (a command, a data file read at run time) makes its outputs
 * unknown, and the checks downstream of it wait for the data.
 */
export function inferShapes(
  ordered: readonly StageSpec[],
  definitions: PipelineSpec['definitions'],
  locator: Locator,
  errors: ParamflowError[],
): Record<string, StageShapes> {
  const outputsOf = new Map<string, KnownShapes>();
  const shapes: Record<string, StageShapes> = {};
  for (const s of ordered) {
    const infer = definitions[s.name]!.inferShapes;
    if (!infer) continue;
    const inputs: Record<string, ArrayShape | undefined> = {};
    for (const [input, from] of Object.entries(s.inputs)) {
      const output = input.startsWith(`${from}.`) ? input.slice(from.length + 1) : input;
      inputs[input] = outputsOf.get(from)?.[output];
    }
    let inferred: ShapeInference;
    try {
      inferred = infer(s.with, inputs);
    } catch (err) {
      // Only a stage module's code can throw here; the built-ins return problems.
      errors.push(
        new ParamflowError(
          'PF_UNKNOWN_STAGE_TYPE',
          `stage \`${s.name}\`: ${s.uses}'s inferShapes failed: ${(err as Error)?.message ?? String(err)}`,
          {
            location: locator.locate(['stages', s.name, 'uses']),
            hint: 'inferShapes(params, inputs) returns { outputs, problems } and never throws; a dimension it cannot know is undefined',
            cause: err,
          },
        ),
      );
      continue;
    }
    outputsOf.set(s.name, knownShapes(inferred?.outputs));
    shapes[s.name] = {
      inputs,
      outputs: outputsOf.get(s.name)!,
      passThrough: (inferred?.passThrough ?? []).filter((o) => typeof o === 'string'),
    };
    for (const p of inferred?.problems ?? []) {
      const at = ['stages', s.name, 'with', ...p.pointer.split('/').slice(1)];
      const read = Object.entries(s.inputs).filter(([input]) => p.message.includes(`\`${input}\``));
      const from = read.map(([input, stage]) => `\`${input}\` comes from stage \`${stage}\``).join(', ');
      errors.push(
        new ParamflowError('PF_SHAPE', `stage \`${s.name}\`: ${p.message}`, {
          location: locator.locate(at),
          hint: from ? `${p.hint} (${from})` : p.hint,
        }),
      );
    }
  }
  return shapes;
}

/** What validation inferred of a stage's arrays (a stage without inferShapes has none). */
export interface StageShapes {
  inputs: KnownShapes;
  outputs: KnownShapes;
  passThrough: readonly string[];
}

// A module's shapes are trusted only as far as they make sense: a dimension that is not a
// non-negative integer is unknown, and so is an output that is not a list of dimensions.
function knownShapes(outputs: KnownShapes | undefined): KnownShapes {
  const known: Record<string, ArrayShape> = {};
  for (const [name, out] of Object.entries(outputs ?? {})) {
    if (!Array.isArray(out?.shape)) continue;
    const dtype = ['float32', 'float64', 'int32'].includes(out.dtype as string) ? { dtype: out.dtype } : {};
    known[name] = { shape: out.shape.map((d) => (Number.isSafeInteger(d) && d >= 0 ? d : undefined)), ...dtype };
  }
  return known;
}

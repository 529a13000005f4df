import { ParamflowError } from '../../src/util/errors.js';
import { ndarray } from '../../src/stage-contract/ndarray.js';
import { arraySink, chunkRows } from '../../src/stage-contract/rows.js';
import { EventLoopTurns } from '../../src/stage-contract/event-loop-turns.js';
import { Rng } from '../../src/stage-contract/random.js';
import { defineStage, type StageContext, type StageResult } from '../../src/stage-contract/types.js';
import { checkSimulateParams, issuesToError, type SimulateParams } from './check-params.js';
import { fillX, gridStep, linspace } from './grid.js';
import { isModelFile, loadCustomModel } from './custom-model.js';
import { getModel, type CurveModel, type ModelName } from './models.js';
import { samplePrior, type Prior } from './priors.js';

export { checkSimulateParams, MAX_VALUES, type ParamIssue, type SimulateParams } from './check-params.js';
export { getModel, MODEL_NAMES, type CurveModel, type ModelName } from './models.js';
export type { Prior } from './priors.js';
export { defineModel, type CurveFunction, type CurveModelModule } from './custom-model.js';

// Progress is reported this many times per run, not per curve: a TTY redraw per
// curve would cost more than the curve.
const PROGRESS_STEPS = 100;

/**
 * Simulated datasets: for each of `n` datasets, parameters drawn from the priors,
 * an x grid (optionally jittered) and the model's y on it.
 *
 * Draw order, fixed so that a seed gives the same bytes on every run: one stream
 * `new Rng(seed)`; per dataset i = 0…n-1, first one draw per parameter in the
 * model's parameter order (`fixed` draws nothing; `normal` is one Rng.standardNormal,
 * a ziggurat draw), then, if x.jitter > 0,
 * one standard-normal draw per grid point in order.
 */
export const simulate = defineStage<SimulateParams>({
  name: 'simulate',
  version: '2', // 2: normal draws by the ziggurat (src/stage-contract/random.ts), not the polar method
  schema: 'stages/simulate.schema.json',
  inputs: [],
  outputs: [
    { name: 'X', kind: 'ndarray' },
    { name: 'Y', kind: 'ndarray' },
    { name: 'targets', kind: 'ndarray' },
  ],
  check: checkSimulateParams,
  // check() makes params name exactly the model's parameters: one targets column each.
  inferShapes: (params) => {
    const curves = { shape: [params.n, params.x.points], dtype: params.dtype };
    const targets = { shape: [params.n, Object.keys(params.params).length], dtype: params.dtype };
    return { outputs: { X: curves, Y: curves, targets } };
  },
  // A custom model's file: its content is in the key, and it must stay inside the project.
  ports: (params) => (isModelFile(params.model) ? { files: [{ path: params.model, pointer: '/model' }] } : {}),
  prepare: async (params, site) => {
    if (!isModelFile(params.model)) return [];
    try {
      return checkSimulateParams(
        params,
        await loadCustomModel(site.dir, params.model, Object.keys(params.params), { file: params.model }),
      );
    } catch (err) {
      if (!(err instanceof ParamflowError)) throw err;
      return [{ pointer: '/model', message: err.message, hint: err.hint ?? '' }];
    }
  },
  run: (_inputs, params, ctx) => {
    if (!isModelFile(params.model)) return runSimulate(params, ctx, getModel(params.model as ModelName));
    // Custom models load here; the built-ins stay synchronous.
    return loadCustomModel(ctx.dir ?? ctx.root, params.model, Object.keys(params.params), { file: params.model }).then(
      (m) => runSimulate(params, ctx, m),
    );
  },
});

async function runSimulate(params: SimulateParams, ctx: StageContext, model: CurveModel): Promise<StageResult> {
  const issues = checkSimulateParams(params, isModelFile(params.model) ? model : undefined);
  if (issues.length > 0) throw issuesToError(issues);

  const { n, dtype } = params;
  const points = params.x.points;
  const k = model.params.length;
  const priors = model.params.map((name) => params.params[name] as Prior);

  // Written a chunk of curves at a time: a million curves never sit in memory at once.
  const sinks = await Promise.all([
    arraySink(ctx, 'X', dtype, [n, points]),
    arraySink(ctx, 'Y', dtype, [n, points]),
    arraySink(ctx, 'targets', dtype, [n, k]),
  ]);
  const chunk = Math.min(n, chunkRows({ shape: [n, points], dtype }));
  const X = ndarray(dtype, [chunk, points]);
  const Y = ndarray(dtype, [chunk, points]);
  const targets = ndarray(dtype, [chunk, k]);

  const rng = new Rng(ctx.seed);
  const base = linspace(params.x.start, params.x.stop, points);
  const jitterStd = params.x.jitter * gridStep(params.x);
  const p = new Float64Array(k);
  const xs = new Float64Array(points);
  const every = Math.max(1, Math.ceil(n / PROGRESS_STEPS));

  const turns = new EventLoopTurns(ctx.signal);
  for (let i = 0; i < n; i++) {
    if (turns.due()) await turns.take();
    for (let c = 0; c < k; c++) p[c] = samplePrior(rng, priors[c] as Prior);
    fillX(xs, base, jitterStd, rng);

    const row = i % chunk;
    const offset = row * points;
    for (let j = 0; j < points; j++) {
      const x = xs[j] as number;
      X.data[offset + j] = x;
      Y.data[offset + j] = model.evaluate(x, p);
      // Check the stored value: a finite float64 can still overflow float32.
      if (!Number.isFinite(Y.data[offset + j])) throw nonFiniteError(model, i, x, p, Y.data[offset + j]);
    }
    targets.data.set(p, row * k);
    if (row === chunk - 1 || i === n - 1) {
      const rows = row + 1;
      await sinks[0].append(X.data.subarray(0, rows * points));
      await sinks[1].append(Y.data.subarray(0, rows * points));
      await sinks[2].append(targets.data.subarray(0, rows * k));
    }
    if ((i + 1) % every === 0 && i + 1 < n) ctx.progress(i + 1, n, 'curves');
  }
  ctx.progress(n, n, 'curves');
  const [outX, outY, outTargets] = await Promise.all(sinks.map((sink) => sink.finish()));
  return { outputs: { X: outX!, Y: outY!, targets: outTargets! } };
}

function nonFiniteError(
  model: CurveModel,
  i: number,
  x: number,
  p: Float64Array,
  y: number | undefined,
): ParamflowError {
  const values = model.params.map((name, c) => `${name} = ${p[c]}`).join(', ');
  return new ParamflowError('PF_STAGE_FAILED', `dataset ${i}: ${model.formula} gives ${y} at x = ${x} with ${values}`, {
    hint: 'narrow the priors or the x range so that the model stays finite (and within float32 range unless dtype: float64)',
  });
}

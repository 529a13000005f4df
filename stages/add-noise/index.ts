import { ParamflowError } from '../../src/util/errors.js';
import { arraySink, chunkRows, readRows, requireArrayInput, type ArrayInput } from '../../src/stage-contract/rows.js';
import { EventLoopTurns } from '../../src/stage-contract/event-loop-turns.js';
import { deriveSeed, Rng } from '../../src/stage-contract/random.js';
import { defineStage, type StageContext, type StageInputs, type StageResult } from '../../src/stage-contract/types.js';
import { addGaussian, addOutliers, applyPoisson, rms } from './noise.js';

/** The validated `with:` of add-noise; every key is optional and absent means off. */
export interface AddNoiseParams {
  readonly x_jitter?: { readonly sigma: number };
  readonly poisson?: { readonly scale: number };
  readonly gaussian?: { readonly sigma: number } | { readonly relative: number };
  readonly snr?: { readonly db: number };
  readonly outliers?: { readonly rate: number; readonly scale: number };
}

type FloatArray = ArrayInput<'float32' | 'float64'>;

// Each kind of noise has its own random stream, seeded from the stage seed and the
// kind's name. Turning one kind on, off or up then leaves the others' draws as they
// were, so a sweep over gaussian.relative compares levels on the same outliers and
// the same underlying normals (common random numbers).
const STREAMS = ['x_jitter', 'poisson', 'gaussian', 'snr', 'outliers'] as const;
type Stream = (typeof STREAMS)[number];

const PROGRESS_STEPS = 100;

/**
 * Noise on simulated curves, applied in this order: x_jitter (on X), then on each
 * curve of Y: poisson, gaussian, snr, outliers. Gaussian `relative`, snr and
 * outliers scale with the RMS of the curve's clean y (the input, before any step).
 * Within each stream draws go curve by curve, point by point. targets pass through.
 */
export const addNoise = defineStage<AddNoiseParams>({
  name: 'add-noise',
  version: '2', // 2: normal draws by the ziggurat (src/stage-contract/random.ts), not the polar method
  schema: 'stages/add-noise.schema.json',
  inputs: ['X', 'Y', 'targets'],
  outputs: [
    { name: 'X', kind: 'ndarray' },
    { name: 'Y', kind: 'ndarray' },
    { name: 'targets', kind: 'ndarray' },
  ],
  inferShapes: (params, inputs) => ({
    outputs: { X: inputs.X, Y: inputs.Y, targets: inputs.targets },
    passThrough: [...((params.x_jitter?.sigma ?? 0) > 0 ? [] : ['X']), ...(touchesY(params) ? [] : ['Y']), 'targets'],
  }),
  streams: true,
  run: (inputs, params, ctx) => runAddNoise(inputs, params, ctx),
});

async function runAddNoise(inputs: StageInputs, params: AddNoiseParams, ctx: StageContext): Promise<StageResult> {
  const X = requireCurves(inputs, 'X');
  const Y = requireCurves(inputs, 'Y');
  const targets = requireArrayInput(inputs, 'targets', 'add-noise');
  if (X.shape[0] !== Y.shape[0] || X.shape[1] !== Y.shape[1]) {
    throw new ParamflowError('PF_STAGE_FAILED', `X is [${X.shape.join(', ')}] but Y is [${Y.shape.join(', ')}]`, {
      hint: 'add-noise needs X and Y of the same stage (one row per curve, one column per point)',
    });
  }
  const rngs = Object.fromEntries(STREAMS.map((s) => [s, new Rng(deriveSeed(ctx.seed, `add-noise:${s}`))])) as Record<
    Stream,
    Rng
  >;
  const xSigma = params.x_jitter?.sigma ?? 0;
  const turns = new EventLoopTurns(ctx.signal);
  // An output without noise is its input passed through (the cache links the file, no copy).
  const outX = xSigma > 0 ? await jitterX(X, xSigma, rngs.x_jitter, ctx, turns) : X;
  const outY = touchesY(params) ? await noisyY(Y, params, rngs, ctx, turns) : Y;
  ctx.progress(Y.shape[0] ?? 0, Y.shape[0] ?? 0, 'curves');
  return { outputs: { X: outX, Y: outY, targets } };
}

/**
 * Each chunk of curves of `input`, changed in place by `change` (a copy: inputs are read-only),
 * to a new output of the same shape: draws go curve by curve, as without chunks.
 */
async function mapCurves(
  name: 'X' | 'Y',
  input: FloatArray,
  ctx: StageContext,
  turns: EventLoopTurns,
  change: (values: Float32Array | Float64Array, first: number, rows: number) => Promise<void>,
): Promise<FloatArray> {
  const [n = 0, points = 0] = input.shape;
  const sink = await arraySink(ctx, name, input.dtype, input.shape);
  const step = Math.min(Math.max(1, n), chunkRows(input));
  const room = readRows(input, 0, Math.min(step, n)).slice();
  for (let first = 0; first < n; first += step) {
    if (turns.due()) await turns.take();
    const rows = Math.min(step, n - first);
    const values = readRows(input, first, rows, room.subarray(0, rows * points) as typeof room);
    await change(values, first, rows);
    await sink.append(values as never);
  }
  return (await sink.finish()) as FloatArray;
}
function touchesY(p: AddNoiseParams): boolean {
  return p.poisson !== undefined || gaussianLevel(p.gaussian) > 0 || p.snr !== undefined || (p.outliers?.rate ?? 0) > 0;
}

function gaussianLevel(g: AddNoiseParams['gaussian']): number {
  if (g === undefined) return 0;
  return 'sigma' in g ? g.sigma : g.relative;
}

function gaussianSigma(g: AddNoiseParams['gaussian'], cleanRms: number): number {
  if (g === undefined) return 0;
  return 'sigma' in g ? g.sigma : g.relative * cleanRms;
}

async function jitterX(
  X: FloatArray,
  sigma: number,
  rng: Rng,
  ctx: StageContext,
  turns: EventLoopTurns,
): Promise<FloatArray> {
  const points = X.shape[1] ?? 1;
  return mapCurves('X', X, ctx, turns, async (values) => {
    for (let i = 0; i < values.length; i++) {
      if (i % points === 0 && turns.due()) await turns.take();
      values[i] = (values[i] as number) + sigma * rng.standardNormal();
    }
  });
}

async function noisyY(
  Y: FloatArray,
  p: AddNoiseParams,
  rngs: Record<Stream, Rng>,
  ctx: StageContext,
  turns: EventLoopTurns,
): Promise<FloatArray> {
  const [n = 0, points = 0] = Y.shape;
  const y = new Float64Array(points);
  const gaussianOn = gaussianLevel(p.gaussian) > 0;
  const every = Math.max(1, Math.ceil(n / PROGRESS_STEPS));
  return mapCurves('Y', Y, ctx, turns, async (values, first, rows) => {
    for (let r = 0; r < rows; r++) {
      const i = first + r;
      if (turns.due()) await turns.take();
      y.set(values.subarray(r * points, (r + 1) * points));
      const clean = rms(y);
      if (p.poisson) applyPoisson(y, p.poisson.scale, rngs.poisson);
      // Decided per stage, not per curve: a flat curve (RMS 0) still draws, so later curves' draws stay put.
      if (gaussianOn) addGaussian(y, gaussianSigma(p.gaussian, clean), rngs.gaussian);
      if (p.snr) addGaussian(y, clean / 10 ** (p.snr.db / 20), rngs.snr);
      if (p.outliers && p.outliers.rate > 0) addOutliers(y, p.outliers.rate, p.outliers.scale * clean, rngs.outliers);
      values.set(y, r * points);
      if ((i + 1) % every === 0 && i + 1 < n) ctx.progress(i + 1, n, 'curves');
    }
  });
}

function requireCurves(inputs: StageInputs, name: 'X' | 'Y'): FloatArray {
  const a = requireArrayInput(inputs, name, 'add-noise');
  if (a.shape.length !== 2 || a.dtype === 'int32') {
    throw new ParamflowError(
      'PF_STAGE_FAILED',
      `add-noise expects ${name} as a 2-D float32 or float64 array, got ${a.dtype} [${a.shape.join(', ')}]`,
      { hint: `feed add-noise from a stage whose ${name} has one row per curve (e.g. simulate)` },
    );
  }
  return a as FloatArray;
}

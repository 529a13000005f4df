import { execa } from 'execa';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { NATIVE_PROBLEM, needsNative } from '../helpers/native.js';
import { expectIdentical } from '../helpers/identical.js';
import { REPO } from '../helpers/project.js';

// Speed must not change the science: one training step of an M2-like model (dense → relu →
// batch norm → dense → relu → batch norm → dense, MSE, Adam) gives the same gradients and the
// same updated weights on every backend, within 1e-4 relative. Each backend runs in its own
// Node process (tfjs registers backends once per process), from the built dist/.
const LOAD = join(REPO, 'dist', 'src', 'backend', 'load.js');
const SCRIPT = `
const { loadTensorflow } = await import(${JSON.stringify(LOAD)});
const { tf, layers } = await loadTensorflow(process.argv[1]);
let s = 12345;
const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
const x = tf.tensor2d(Float32Array.from({ length: 48 * 300 }, next), [48, 300]);
const y = tf.tensor2d(Float32Array.from({ length: 48 * 4 }, next), [48, 4]);
const init = (seed) => ({ kernelInitializer: layers.initializers.glorotUniform({ seed }) });
const model = layers.sequential({ layers: [
  layers.layers.dense({ inputShape: [300], units: 64, activation: 'relu', ...init(1) }),
  layers.layers.batchNormalization(),
  layers.layers.dense({ units: 32, activation: 'relu', ...init(2) }),
  layers.layers.batchNormalization(),
  layers.layers.dense({ units: 4, ...init(3) }),
] });
const { value, grads } = tf.variableGrads(() => tf.losses.meanSquaredError(y, model.apply(x, { training: true })));
const out = { loss: value.dataSync()[0], grads: {}, weights: {} };
for (const [name, g] of Object.entries(grads)) out.grads[name] = Array.from(g.dataSync());
tf.train.adam(0.01).applyGradients(grads);
for (const w of model.trainableWeights) out.weights[w.originalName] = Array.from(w.read().dataSync());
process.stdout.write(JSON.stringify({ backend: tf.getBackend(), ...out }));
`;

interface Step {
  backend: string;
  loss: number;
  grads: Record<string, number[]>;
  weights: Record<string, number[]>;
}

async function step(backend: string): Promise<Step> {
  const r = await execa(process.execPath, ['--input-type=module', '-e', SCRIPT, backend], {
    cwd: REPO,
    reject: false,
    timeout: 60_000,
  });
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Step;
}

/** max |a − b| over max |b|, per tensor: the relative disagreement of two tensors. */
// The native addon flushes subnormal floats to zero (docs/native.md) where tfjs's cpu backend
// keeps them: below this scale a difference is that flush, not an error.
const SUBNORMAL_FLOOR = 1e-30;

function relativeError(a: number[], b: number[]): number {
  expect(a.length).toBe(b.length);
  const scale = Math.max(...b.map(Math.abs), SUBNORMAL_FLOOR);
  const diff = Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
  return diff / scale;
}

function expectAgree(a: Step, b: Step) {
  expect(Object.keys(a.grads).sort()).toEqual(Object.keys(b.grads).sort());
  expect(Object.keys(a.grads).length).toBeGreaterThanOrEqual(10); // 3 kernels, 3 biases, 2 × (gamma, beta)
  for (const name of Object.keys(b.grads))
    expect(relativeError(a.grads[name]!, b.grads[name]!), `gradient of ${name}`).toBeLessThan(1e-4);
  for (const name of Object.keys(b.weights))
    expect(relativeError(a.weights[name]!, b.weights[name]!), `weights ${name} after one Adam step`).toBeLessThan(1e-4);
  expect(Math.abs(a.loss - b.loss) / b.loss).toBeLessThan(1e-4);
}

describe('one training step on every backend', () => {
  it.skipIf(NATIVE_PROBLEM !== undefined)(needsNative('native agrees with cpu and wasm within 1e-4'), async () => {
    const [native, cpu, wasm] = await Promise.all([step('native'), step('cpu'), step('wasm')]);
    expect([native.backend, cpu.backend, wasm.backend]).toEqual(['native', 'cpu', 'wasm']);
    expectAgree(native, cpu);
    expectAgree(native, wasm);
    // The gradients are not all zero (a broken kernel could agree on nothing at all).
    expect(Math.max(...Object.values(native.grads).flat().map(Math.abs))).toBeGreaterThan(1e-3);
  });

  it('wasm agrees with cpu within 1e-4', async () => {
    const [cpu, wasm] = await Promise.all([step('cpu'), step('wasm')]);
    expectAgree(wasm, cpu);
  });

  it.skipIf(NATIVE_PROBLEM !== undefined)(
    needsNative('native is bit-identical from one process to the next, on 1 or 2 BLAS threads'),
    async () => {
      const one = await execa(process.execPath, ['--input-type=module', '-e', SCRIPT, 'native'], {
        cwd: REPO,
        env: { PARAMFLOW_BLAS_THREADS: '1' },
      });
      const two = await execa(process.execPath, ['--input-type=module', '-e', SCRIPT, 'native'], {
        cwd: REPO,
        env: { PARAMFLOW_BLAS_THREADS: '2' },
      });
      expect(one.stdout).toBe(two.stdout);
    },
  );
});

// The fused trainer (stages/train/fused.ts, native/mlp.c) against tfjs-layers' trainOnBatch on
// the cpu backend, from the same initial weights (the train stage's own createFoldModel): with
// plain SGD at lr = 1 one step's update is minus the gradient, so the updates agreeing within
// 1e-4 relative is the gradients agreeing; the moving statistics of BatchNorm and the loss too.
// Adam, momentum and RMSProp take three steps each (their formulas, and their state).
const LOOP = join(REPO, 'dist', 'stages', 'train', 'loop.js');
const FUSED = join(REPO, 'dist', 'stages', 'train', 'fused.js');
const STEP_SCRIPT = `
const { loadTensorflow } = await import(${JSON.stringify(LOAD)});
const { createFoldModel } = await import(${JSON.stringify(LOOP)});
const { FusedTrainer } = await import(${JSON.stringify(FUSED)});
const [backend, trainer, casesJson] = process.argv.slice(1);
const rt = await loadTensorflow(backend);
const cases = JSON.parse(casesJson);
let s = 4242;
const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
const N = 96, F = 40, K = 3, ROWS = 48;
const x = { rows: N, cols: F, data: Float32Array.from({ length: N * F }, next) };
const t = { rows: N, cols: K, data: Float32Array.from({ length: N * K }, () => 1.5 * next()) };
const order = Int32Array.from({ length: N }, (_, i) => (i * 37) % N);
const weights = (model) => Object.fromEntries(model.weights.map((w) => [w.originalName, Array.from(w.read().dataSync())]));
const out = {};
for (const [name, c] of Object.entries(cases)) {
  const params = { standardize: { inputs: 'none', targets: false }, batch_size: ROWS, epochs: 1, huber_delta: 0.5, loss: 'mse', ...c };
  const { model, optimizer } = createFoldModel(rt, params, 0, 99, F);
  const before = weights(model);
  const fused = trainer === 'fused' ? new FusedTrainer(rt, model, optimizer, params, { x, t }) : undefined;
  const loss = [];
  for (let step = 0; step < (c.steps ?? 1); step++) {
    const start = (step * ROWS) % N;
    if (fused) loss.push(fused.step(order, start, ROWS, params.layers.filter((l) => 'dropout' in l).map((_, i) => 1234 + 10 * step + i)));
    else {
      const pick = (m, i) => m.data.subarray(order[start + i] * m.cols, (order[start + i] + 1) * m.cols);
      const xs = rt.tf.tensor2d(Float32Array.from({ length: ROWS * F }, (_, j) => pick(x, Math.floor(j / F))[j % F]), [ROWS, F]);
      const ys = rt.tf.tensor2d(Float32Array.from({ length: ROWS * K }, (_, j) => pick(t, Math.floor(j / K))[j % K]), [ROWS, K]);
      loss.push(await model.trainOnBatch(xs, ys));
      rt.tf.dispose([xs, ys]);
    }
  }
  out[name] = { loss, before, after: weights(model) };
  model.dispose();
}
process.stdout.write(JSON.stringify(out));
`;

const dense = (units: number, activation = 'linear', extra: Record<string, unknown> = {}) => ({
  dense: { units, activation, kernel_initializer: 'glorot_uniform', use_bias: true, ...extra },
});
const bn = (extra: Record<string, unknown> = {}) => ({
  batch_norm: { momentum: 0.9, epsilon: 0.001, center: true, scale: true, ...extra },
});
const SGD1 = { sgd: { lr: 1, momentum: 0 } };
const M1 = [dense(16, 'relu'), dense(3)];
const M2 = [dense(32, 'relu'), bn(), dense(16, 'relu'), bn(), dense(3)];
const ACTS = [
  dense(16, 'tanh', { kernel_regularizer: { l1: 0.01, l2: 0.02 } }),
  dense(16, 'sigmoid'),
  dense(12, 'elu'),
  { activation: { name: 'selu' } },
  dense(12, 'softplus', { use_bias: false }),
  bn({ center: false }),
  dense(8, 'tanh', { kernel_regularizer: { l1: 0.005, l2: 0 } }), // not linear: a bias right before BatchNorm gets a zero gradient
  bn({ scale: false }),
  dense(3),
];
const CASES: Record<string, Record<string, unknown>> = {};
for (const loss of ['mse', 'mae', 'huber']) {
  CASES[`M1 ${loss}`] = { layers: M1, loss, optimizer: SGD1 };
  CASES[`M2 ${loss}`] = { layers: M2, loss, optimizer: SGD1 };
}
CASES['activations, l1/l2, batch norm without center or scale'] = { layers: ACTS, optimizer: SGD1 };
CASES['M2 adam'] = { layers: M2, optimizer: { adam: { lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } }, steps: 3 };
CASES['M2 momentum'] = { layers: M2, optimizer: { sgd: { lr: 0.05, momentum: 0.9 } }, steps: 3, loss: 'huber' };
CASES['M2 rmsprop'] = {
  layers: M2,
  optimizer: { rmsprop: { lr: 0.001, decay: 0.9, momentum: 0.5, epsilon: 1e-7 } },
  steps: 3,
};

interface Trained {
  loss: number[];
  before: Record<string, number[]>;
  after: Record<string, number[]>;
}

async function trainSteps(
  backend: string,
  trainer: 'fused' | 'tfjs',
  cases: Record<string, unknown>,
  env: Record<string, string> = {},
): Promise<Record<string, Trained>> {
  const r = await execa(
    process.execPath,
    ['--input-type=module', '-e', STEP_SCRIPT, backend, trainer, JSON.stringify(cases)],
    { cwd: REPO, reject: false, timeout: 120_000, env },
  );
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, Trained>;
}

describe.skipIf(NATIVE_PROBLEM !== undefined)(needsNative('the fused trainer against tfjs-layers'), () => {
  it(
    'takes the same steps as trainOnBatch on cpu within 1e-4 relative: gradients, BatchNorm statistics, optimizers, losses',
    { timeout: 180_000 },
    async () => {
      const [fused, tfjs] = await Promise.all([trainSteps('native', 'fused', CASES), trainSteps('cpu', 'tfjs', CASES)]);
      for (const [name, c] of Object.entries(CASES)) {
        const [a, b] = [fused[name]!, tfjs[name]!];
        expect(Object.keys(a.after), name).toEqual(Object.keys(b.after));
        for (const w of Object.keys(b.after)) {
          expect(a.before[w], `${name}: ${w} starts equal`).toEqual(b.before[w]);
          // One SGD step at lr 1: the update is the gradient. Moving statistics and multi-step runs: the values.
          const plain = !c.steps && !w.includes('moving');
          const [da, db] = plain
            ? [a, b].map((r) => r.after[w]!.map((v, i) => v - r.before[w]![i]!))
            : [a.after[w]!, b.after[w]!];
          expect(relativeError(da!, db!), `${name}: ${plain ? 'gradient of' : 'value of'} ${w}`).toBeLessThan(1e-4);
          if (plain) expect(Math.max(...db!.map(Math.abs)), `${name}: ${w} moved`).toBeGreaterThan(0);
        }
        a.loss.forEach((l, i) =>
          expect(Math.abs(l - b.loss[i]!) / b.loss[i]!, `${name}: loss of step ${i + 1}`).toBeLessThan(1e-4),
        );
      }
    },
  );

  it(
    'is bit-identical from one process to the next, on 1 or 2 BLAS threads (dropout included), and dropout drops',
    { timeout: 180_000 },
    async () => {
      // Big enough for the addon to split its products over 2 threads (48 × 40 × 9000 ≥ 2^24 multiply-adds).
      const wide = [dense(9000, 'relu'), { dropout: { rate: 0.3 } }, bn(), dense(3)];
      const cases = {
        wide: { layers: wide, optimizer: { adam: { lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } }, steps: 3 },
        undropped: { layers: [wide[0], { dropout: { rate: 0 } }, wide[2], wide[3]], optimizer: SGD1 },
      };
      const one = await trainSteps('native', 'fused', cases, { PARAMFLOW_BLAS_THREADS: '1' });
      const two = await trainSteps('native', 'fused', cases, { PARAMFLOW_BLAS_THREADS: '2' });
      expectIdentical(two, one, '2 threads vs 1');
      expect(one.wide!.loss[0]).not.toBe(one.undropped!.loss[0]);
    },
  );
});

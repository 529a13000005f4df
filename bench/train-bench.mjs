#!/usr/bin/env node
// One paramflow training-throughput worker: trains the PERF-NOTES models (M1, M2) on one
// TensorFlow.js backend the way the train stage does, and prints one JSON line per (model, batch).
// --trainer fused: the train stage's fused native trainer (stages/train/fused.ts; native only);
// --trainer tfjs: tfjs-layers' trainOnBatch. Default: what paramflow uses on that backend
// (fused on native unless PARAMFLOW_FUSED=0, else tfjs).
// bench/run.mjs starts one or several of these at once (--sync) and sums their figures.
//
//   node bench/train-bench.mjs --backend wasm [--trainer fused|tfjs] [--models M1,M2] [--batches 32,256]
//        [--n 10000] [--inputs 2000] [--epoch-seconds 10] [--warmup-seconds 2] [--sync]
//
// Protocol (stdout, one JSON object a line): before each timed epoch
// {"event":"ready","samples":S} (S = samples the epoch proposes to time); with --sync the worker
// then waits for a line "go <samples>" on stdin, so that parallel workers time the same work at
// the same moment. After the best of 2 timed epochs: {"event":"result", backend, model, batch,
// samples_per_s, samples_timed, matmul_fix, trainer}. Needs `npm run build` (imports ../dist).
// PARAMFLOW_WASM_MATMUL_FIX=0 measures wasm without the matMul fix (src/backend/wasm-matmul-fix.ts).
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

import { loadTensorflow } from '../dist/src/backend/load.js';

const { values: opts } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    trainer: { type: 'string' },
    models: { type: 'string', default: 'M1,M2' },
    batches: { type: 'string', default: '32,256' },
    n: { type: 'string', default: '10000' },
    inputs: { type: 'string', default: '2000' },
    'epoch-seconds': { type: 'string', default: '10' },
    'warmup-seconds': { type: 'string', default: '2' },
    seed: { type: 'string', default: '0' },
    sync: { type: 'boolean', default: false },
  },
});
const TRAINER = opts.trainer ?? (opts.backend === 'native' && process.env.PARAMFLOW_FUSED !== '0' ? 'fused' : 'tfjs');
if (!['fused', 'tfjs'].includes(TRAINER)) throw new Error(`--trainer ${TRAINER}: expected fused or tfjs`);
if (TRAINER === 'fused' && opts.backend !== 'native')
  throw new Error('--trainer fused runs on the native backend only');
const N = Number(opts.n);
const INPUTS = Number(opts.inputs);
const OUTPUTS = 4;
const WARMUP_SAMPLES = 2048; // as much as PyTorch's warm-up, unless the time cap comes first

/** mulberry32: seeded uniform [0, 1). */
function uniform(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal values (Box–Muller over mulberry32). */
function normals(count, seed) {
  const next = uniform(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - next()));
    const theta = 2 * Math.PI * next();
    out[i] = r * Math.cos(theta);
    if (i + 1 < count) out[i + 1] = r * Math.sin(theta);
  }
  return out;
}

function permutation(n, next) {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** M1 = Dense(64, relu) → Dense(4); M2 = Dense(512, relu) → BN → Dense(256, relu) → BN → Dense(4). Adam(1e-3), MSE. */
function buildModel({ tf, layers }, name) {
  const L = layers.layers;
  const init = (seed) => ({ kernelInitializer: layers.initializers.glorotUniform({ seed }) });
  const stack =
    name === 'M1'
      ? [
          L.dense({ inputShape: [INPUTS], units: 64, activation: 'relu', ...init(1) }),
          L.dense({ units: OUTPUTS, ...init(2) }),
        ]
      : name === 'M2'
        ? [
            L.dense({ inputShape: [INPUTS], units: 512, activation: 'relu', ...init(1) }),
            L.batchNormalization(),
            L.dense({ units: 256, activation: 'relu', ...init(2) }),
            L.batchNormalization(),
            L.dense({ units: OUTPUTS, ...init(3) }),
          ]
        : undefined;
  if (!stack) throw new Error(`unknown model ${name}: expected M1 or M2`);
  const model = layers.sequential({ layers: stack });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'meanSquaredError' });
  return model;
}

/** The same models as the train stage builds them (layer names, initializers), for the fused trainer. */
async function buildFused(rt, name, batch, data) {
  const { createFoldModel } = await import('../dist/stages/train/loop.js');
  const { FusedTrainer } = await import('../dist/stages/train/fused.js');
  const dense = (units, activation) => ({
    dense: { units, activation, kernel_initializer: 'glorot_uniform', use_bias: true },
  });
  const bn = { batch_norm: { momentum: 0.99, epsilon: 0.001, center: true, scale: true } };
  const layers =
    name === 'M1'
      ? [dense(64, 'relu'), dense(OUTPUTS, 'linear')]
      : name === 'M2'
        ? [dense(512, 'relu'), bn, dense(256, 'relu'), bn, dense(OUTPUTS, 'linear')]
        : undefined;
  if (!layers) throw new Error(`unknown model ${name}: expected M1 or M2`);
  const params = {
    layers,
    optimizer: { adam: { lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } },
    loss: 'mse',
    huber_delta: 1,
    batch_size: batch,
    epochs: 1,
    standardize: { inputs: 'none', targets: false },
  };
  const { model, optimizer } = createFoldModel(rt, params, 0, 1, INPUTS);
  const trainer = new FusedTrainer(rt, model, optimizer, params, {
    x: { rows: N, cols: INPUTS, data: data.x },
    t: { rows: N, cols: OUTPUTS, data: data.y },
  });
  return { model, trainer, dispose: () => (model.dispose(), optimizer.dispose()) };
}

/** Trains on the first `samples` rows of a fresh shuffle, in batches; returns seconds taken. */
async function epoch({ tf }, model, data, batch, samples, next) {
  const order = permutation(N, next);
  const start = performance.now();
  if (model.trainer) {
    for (let i = 0; i < samples; i += batch) {
      const m = Math.min(batch, samples - i);
      if (m < 2) break;
      model.trainer.step(order, i, m, []); // returns the loss: one "sync" per step, as with trainOnBatch
    }
    return (performance.now() - start) / 1000;
  }
  for (let i = 0; i < samples; i += batch) {
    const m = Math.min(batch, samples - i);
    if (m < 2) break; // BatchNorm needs 2 rows (PyTorch refuses 1)
    // Fresh arrays per batch: the cpu backend keeps a reference to a tensor's typed array.
    const xb = new Float32Array(m * INPUTS);
    const yb = new Float32Array(m * OUTPUTS);
    for (let r = 0; r < m; r++) {
      const row = order[i + r];
      xb.set(data.x.subarray(row * INPUTS, (row + 1) * INPUTS), r * INPUTS);
      yb.set(data.y.subarray(row * OUTPUTS, (row + 1) * OUTPUTS), r * OUTPUTS);
    }
    const xs = tf.tensor2d(xb, [m, INPUTS]);
    const ys = tf.tensor2d(yb, [m, OUTPUTS]);
    await model.trainOnBatch(xs, ys); // reads the loss back: one sync per step, as a real loop logs it
    tf.dispose([xs, ys]);
  }
  return (performance.now() - start) / 1000;
}

/** Warm-up: up to WARMUP_SAMPLES, or until `seconds` have passed (at least 2 steps). Returns samples/s. */
async function warmUp(rt, model, data, batch, seconds, next) {
  let done = 0;
  let elapsed = 0;
  while (done < Math.min(N, WARMUP_SAMPLES) && (elapsed < seconds || done < 2 * batch)) {
    elapsed += await epoch(rt, model, data, batch, Math.min(batch, N), next);
    done += Math.min(batch, N);
  }
  return done / elapsed;
}

const stdin = opts.sync ? createInterface({ input: process.stdin }) : undefined;
const stdinLines = stdin?.[Symbol.asyncIterator]();

/** Announces the epoch about to be timed; under --sync, waits for the go (and its sample count). */
async function ready(samples) {
  console.log(JSON.stringify({ event: 'ready', samples }));
  if (!stdinLines) return samples;
  const { value, done } = await stdinLines.next();
  const match = done ? null : /^go (\d+)$/.exec(value.trim());
  if (!match) throw new Error(`expected "go <samples>" on stdin, got ${done ? 'end of input' : JSON.stringify(value)}`);
  return Number(match[1]);
}

async function main() {
  const rt = await loadTensorflow(opts.backend);
  const matmulFix =
    opts.backend === 'wasm'
      ? rt.tf.getKernel('BatchMatMul', 'wasm')?.[Symbol.for('paramflow.wasmMatMulFix')] === true
      : null;
  const seed = Number(opts.seed);
  const data = { x: normals(N * INPUTS, seed + 1), y: normals(N * OUTPUTS, seed + 2) };
  for (const name of opts.models.split(',')) {
    for (const batch of opts.batches.split(',').map(Number)) {
      const next = uniform(seed + 3);
      const model = TRAINER === 'fused' ? await buildFused(rt, name, batch, data) : buildModel(rt, name);
      const warmRate = await warmUp(rt, model, data, batch, Number(opts['warmup-seconds']), next);
      // A full epoch, or as many whole batches as fit in the time cap (slow backends).
      const proposed = Math.min(N, Math.max(2, Math.floor((warmRate * Number(opts['epoch-seconds'])) / batch)) * batch);
      let best = Infinity;
      let samples = proposed;
      for (let run = 0; run < 2; run++) {
        samples = await ready(proposed);
        best = Math.min(best, await epoch(rt, model, data, batch, samples, next));
      }
      model.dispose();
      const result = {
        event: 'result',
        backend: opts.backend,
        model: name,
        batch,
        samples_per_s: Math.round((samples / best) * 10) / 10,
        samples_timed: samples,
        matmul_fix: matmulFix,
        trainer: TRAINER,
      };
      console.log(JSON.stringify(result));
    }
  }
  // An open stdin would keep the process alive after the last result.
  stdin?.close();
  process.stdin.destroy();
}

main().catch((e) => {
  process.stderr.write(`train-bench: ${e?.message ?? e}${e?.hint ? ` (${e.hint})` : ''}\n`);
  process.exit(1);
});

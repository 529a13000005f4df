import { execa } from 'execa';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { backendProblem } from '../../src/backend/probe.js';
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
  const r = await execa(process.execPath, ['--input-type=module', '-e', SCRIPT, backend], { cwd: REPO, reject: false, timeout: 60_000 });
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Step;
}

/** max |a − b| over max |b|, per tensor: the relative disagreement of two tensors. */
function relativeError(a: number[], b: number[]): number {
  expect(a.length).toBe(b.length);
  const scale = Math.max(...b.map(Math.abs));
  const diff = Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
  return scale === 0 ? diff : diff / scale;
}

function expectAgree(a: Step, b: Step) {
  expect(Object.keys(a.grads).sort()).toEqual(Object.keys(b.grads).sort());
  expect(Object.keys(a.grads).length).toBeGreaterThanOrEqual(10); // 3 kernels, 3 biases, 2 × (gamma, beta)
  for (const name of Object.keys(b.grads)) expect(relativeError(a.grads[name]!, b.grads[name]!), `gradient of ${name}`).toBeLessThan(1e-4);
  for (const name of Object.keys(b.weights)) expect(relativeError(a.weights[name]!, b.weights[name]!), `weights ${name} after one Adam step`).toBeLessThan(1e-4);
  expect(Math.abs(a.loss - b.loss) / b.loss).toBeLessThan(1e-4);
}

describe('one training step on every backend', () => {
  it.skipIf(backendProblem('native') !== undefined)('native agrees with cpu and wasm within 1e-4', async () => {
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

  it.skipIf(backendProblem('native') !== undefined)('native is bit-identical from one process to the next, on 1 or 2 BLAS threads', async () => {
    const one = await execa(process.execPath, ['--input-type=module', '-e', SCRIPT, 'native'], { cwd: REPO, env: { PARAMFLOW_BLAS_THREADS: '1' } });
    const two = await execa(process.execPath, ['--input-type=module', '-e', SCRIPT, 'native'], { cwd: REPO, env: { PARAMFLOW_BLAS_THREADS: '2' } });
    expect(one.stdout).toBe(two.stdout);
  });
});

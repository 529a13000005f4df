import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';

import { loadAddon } from '../../src/backend/native/addon.js';
import { registerNativeBackend } from '../../src/backend/native/register.js';
import { NATIVE_PROBLEM, lcgValues, needsNative } from '../helpers/native.js';

// Each native kernel against the cpu kernel it replaces, on the same inputs: same shape,
// values within float32 rounding (the BLAS and the cpu backend add in different orders).

/** Seeded values in [-2, 2) (a little LCG: no tfjs randomness, identical on both sides). */
const values = (n: number, seed: number): Float32Array => lcgValues(n, seed, 2);

/** Runs `f` on both backends with fresh tensors of `shapes`; returns both results' shapes and values. */
function both(shapes: number[][], f: (...xs: tf.Tensor[]) => tf.Tensor, seed = 1) {
  const run = (backend: string) => {
    tf.setBackend(backend);
    return tf.tidy(() => {
      const out = f(
        ...shapes.map((s, i) =>
          tf.tensor(
            values(
              s.reduce((a, b) => a * b, 1),
              seed + i,
            ),
            s,
          ),
        ),
      );
      return { shape: out.shape, values: Array.from(out.dataSync()) };
    });
  };
  return { native: run('native'), cpu: run('cpu') };
}

function expectClose(r: ReturnType<typeof both>, tol = 1e-5) {
  expect(r.native.shape).toEqual(r.cpu.shape);
  expect(r.native.values.length).toBe(r.cpu.values.length);
  const scale = Math.max(1, ...r.cpu.values.filter(Number.isFinite).map(Math.abs));
  r.native.values.forEach((v, i) => {
    const c = r.cpu.values[i]!;
    if (Number.isNaN(c)) expect(v).toBeNaN();
    else if (!Number.isFinite(c)) expect(v).toBe(c);
    else expect(Math.abs(v - c)).toBeLessThanOrEqual(tol * scale);
  });
}

describe.skipIf(NATIVE_PROBLEM !== undefined)(needsNative('native kernels agree with cpu'), () => {
  let nativeNames: string[] = [];
  beforeAll(async () => {
    nativeNames = registerNativeBackend(tf, loadAddon());
    await tf.setBackend('native');
  });

  it('registers every cpu kernel, replacing the heavy ones', () => {
    const names = (backend: string) => tf.getKernelsForBackend(backend).map((k) => k.kernelName);
    expect(names('native').sort()).toEqual([...names('cpu'), 'ParamflowAdam'].sort());
    expect(nativeNames).toEqual(
      expect.arrayContaining(['BatchMatMul', '_FusedMatMul', 'Add', 'Multiply', 'Sum', 'Relu', 'Step', 'Tile', 'Adam']),
    );
    for (const n of nativeNames.filter((k) => k !== 'Adam'))
      expect(tf.getKernel(n, 'native')!.kernelFunc).not.toBe(tf.getKernel(n, 'cpu')!.kernelFunc);
  });

  it.each([
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ])('matMul with transposeA=%s transposeB=%s', (ta, tb) => {
    const a = ta ? [70, 33] : [33, 70];
    const b = tb ? [19, 70] : [70, 19];
    expectClose(both([a, b], (x, y) => tf.matMul(x!, y!, ta, tb)));
  });

  it('batched matMul, with one operand broadcast over the batch', () => {
    expectClose(
      both(
        [
          [3, 5, 8],
          [3, 8, 4],
        ],
        (x, y) => tf.matMul(x!, y!),
      ),
    );
    expectClose(
      both(
        [
          [3, 5, 8],
          [1, 8, 4],
        ],
        (x, y) => tf.matMul(x!, y!),
      ),
    );
    expectClose(
      both(
        [
          [2, 3, 5, 8],
          [8, 4],
        ],
        (x, y) => tf.matMul(x!, tf.tile(tf.reshape(y!, [1, 1, 8, 4]), [2, 3, 1, 1])),
      ),
    );
  });

  it('a product large enough to be split over threads', () => {
    expectClose(
      both(
        [
          [300, 400],
          [400, 200],
        ],
        (x, y) => tf.matMul(x!, y!),
      ),
      1e-5,
    );
  });

  it.each(['linear', 'relu', 'relu6', 'leakyrelu', 'sigmoid', 'elu'] as const)(
    'fused matMul with bias and %s',
    (activation) => {
      expectClose(
        both([[9, 12], [12, 7], [7]], (x, y, bias) =>
          tf.fused.matMul({ a: x!, b: y!, bias, activation, leakyreluAlpha: 0.1 }),
        ),
      );
      expectClose(
        both(
          [
            [12, 9],
            [7, 12],
          ],
          (x, y) => tf.fused.matMul({ a: x!, b: y!, transposeA: true, transposeB: true, activation }),
        ),
      );
    },
  );

  it.each([
    ['add', tf.add],
    ['sub', tf.sub],
    ['mul', tf.mul],
    ['div', tf.div],
    ['maximum', tf.maximum],
    ['minimum', tf.minimum],
    ['squaredDifference', tf.squaredDifference],
  ] as const)('%s, same shapes and broadcast', (_, op) => {
    for (const [a, b] of [
      [
        [4, 6],
        [4, 6],
      ],
      [[4, 6], [6]],
      [
        [4, 6],
        [1, 6],
      ],
      [
        [4, 6],
        [4, 1],
      ],
      [
        [4, 1],
        [1, 6],
      ],
      [
        [2, 3, 4],
        [3, 1],
      ],
      [[], [5, 2]],
      [[5, 2], []],
    ]) {
      expectClose(both([a!, b!], (x, y) => op(x!, y!)));
    }
  });

  it('keeps NaN where the cpu backend does', () => {
    const r = both([[3]], (x) => tf.stack([tf.relu(tf.div(x!, tf.zeros([3]))), tf.maximum(x!, tf.scalar(NaN))]));
    expectClose(r);
  });

  it.each(['relu', 'relu6', 'sqrt', 'square', 'neg', 'abs', 'exp', 'log', 'rsqrt', 'sigmoid', 'reciprocal'] as const)(
    '%s',
    (name) => {
      const op = tf[name] as (x: tf.Tensor) => tf.Tensor;
      expectClose(both([[5, 7]], (x) => op(name === 'relu6' ? tf.mul(x!, 4) : x!)));
    },
  );

  it('step and leakyRelu with their alpha', () => {
    expectClose(both([[5, 7]], (x) => tf.step(x!, 0.3)));
    expectClose(both([[5, 7]], (x) => tf.leakyRelu(x!, 0.05)));
  });

  it.each([
    [[6, 5], 0, false],
    [[6, 5], 1, true],
    [[6, 5], undefined, false],
    [[2, 3, 4], [1, 2], false],
    [[2, 3, 4], [0, 1], true],
    [[2, 3, 4], [0, 2], false], // not contiguous: the cpu kernel does it
    [[2, 3, 4], -1, false],
  ] as const)('sum, mean, max and min of %j over %j (keepDims %s)', (shape, axis, keepDims) => {
    const ax = axis as number | number[] | undefined;
    for (const op of [tf.sum, tf.mean, tf.max, tf.min]) expectClose(both([[...shape]], (x) => op(x!, ax, keepDims)));
  });

  it.each([
    [
      [3, 4],
      [2, 1],
    ],
    [
      [1, 5],
      [4, 1],
    ],
    [
      [2, 3, 2],
      [2, 1, 3],
    ],
    [[4], [3]],
  ])('tile of %j by %j', (shape, reps) => {
    expectClose(both([shape], (x) => tf.tile(x!, reps)));
  });

  it('an Adam step in one native kernel, equal to the dozen kernels it replaces', () => {
    // The same float32 operations in the same order: equal, not merely close.
    const step = (backend: string) => {
      tf.setBackend(backend);
      const w = tf.variable(tf.tensor(values(40, 7), [8, 5]));
      const opt = tf.train.adam(0.01);
      for (let i = 0; i < 3; i++) opt.applyGradients([{ name: w.name, tensor: tf.tensor(values(40, 8 + i), [8, 5]) }]);
      return { w: Array.from(w.dataSync()) };
    };
    expect((tf.AdamOptimizer.prototype as unknown as Record<symbol, unknown>)[Symbol.for('paramflow.nativeAdam')]).toBe(
      true,
    );
    const native = step('native');
    const cpu = step('cpu');
    expect(native.w).toEqual(cpu.w);
  });

  it('leaves int32 tensors to the cpu kernels', () => {
    tf.setBackend('native');
    const s = tf.tidy(() => tf.sum(tf.add(tf.tensor1d([1, 2, 3], 'int32'), tf.scalar(2, 'int32'))).dataSync()[0]);
    expect(s).toBe(12);
  });
});

import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { loadAddon, type NativeAddon } from '../../src/backend/native/addon.js';
import { NATIVE_PROBLEM, lcgValues, needsNative } from '../helpers/native.js';
import { ACTIVATION as ACTIVATION_CODES, OPTIMIZER as OPTIMIZER_CODES } from '../../src/backend/native/boundary.js';
import { REPO } from '../helpers/project.js';

// The fused trainer's element-wise loops are compiled for AVX-512, AVX2 and plain x86-64, one
// picked at load time (native/mlp.c): every variant must give the same bits. The installed
// addon (the widest this processor runs) against one built with --plain, step for step.

const dir = mkdtempSync(join(tmpdir(), 'paramflow-plain-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const values = lcgValues;

const [INPUTS, HIDDEN, K, N] = [120, 48, 4, 200];
const { relu, tanh, sigmoid, elu } = ACTIVATION_CODES;
const ACTIVATION = { relu, tanh, sigmoid, elu };
const OPTIMIZER = { momentum: OPTIMIZER_CODES.momentum, adam: OPTIMIZER_CODES.adam, rmsprop: OPTIMIZER_CODES.rmsprop };

/** The weights and optimizer state after `steps` steps of a 120 → 48 (act) → 4 model, hashed. */
function train(addon: NativeAddon, act: number, opt: number, batch: number, steps: number): string {
  const desc = new Float64Array(16);
  desc.set([0, HIDDEN, act, 1, 0, 0], 0);
  desc.set([0, K, 0, 1, 0, 0], 8);
  const plan = addon.mlpCreate(desc, INPUTS, batch);
  const [x, t] = [values(N * INPUTS, 1), values(N * K, 2)];
  const params = [
    values(INPUTS * HIDDEN, 3, 0.1),
    values(HIDDEN, 4, 0.01),
    values(HIDDEN * K, 5, 0.1),
    new Float32Array(K),
  ];
  const slots = opt === OPTIMIZER.momentum ? 1 : 2;
  const state = params.flatMap((p) => Array.from({ length: slots }, () => new Float32Array(p.length)));
  const order = Int32Array.from({ length: N }, (_, i) => (i * 37) % N);
  let loss = 0;
  for (let s = 0; s < steps; s++) {
    // adam: [opt, lr, beta1, beta2, epsilon, 1 - beta1^t, 1 - beta2^t, loss, huber delta]
    const hyper = new Float64Array([opt, 0.01, 0.9, 0.999, 1e-7, 1 - 0.9 ** (s + 1), 1 - 0.999 ** (s + 1), 0, 1]);
    if (opt === OPTIMIZER.rmsprop) hyper.set([0.9, 0.5, 1e-7, 0, 0], 2);
    if (opt === OPTIMIZER.momentum) hyper.set([0.9, 0, 0, 0, 0], 2);
    loss += addon.mlpStep(
      plan,
      x,
      t,
      order,
      (s * batch) % (N - batch),
      batch,
      params,
      state,
      hyper,
      new Float64Array(0),
    );
  }
  const h = createHash('sha256').update(String(loss));
  for (const a of [...params, ...state]) h.update(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
}

describe.skipIf(NATIVE_PROBLEM !== undefined || process.platform !== 'linux')(
  needsNative(`fused trainer clones${process.platform === 'linux' ? '' : ' (skipped: Linux only)'}`),
  () => {
    it(
      'the installed addon and a --plain build give the same bits, for each activation and optimizer',
      { timeout: 120_000 },
      async () => {
        const wide = loadAddon();
        // The --plain build on the installed addon's GEMM: an opt-in OpenBLAS build (PARAMFLOW_BLAS=openblas)
        // multiplies to other bits than paramflow's own, which is not what this compares.
        const blas = wide.gemmKernel() === 'openblas' ? 'openblas' : '';
        const r = await execa(process.execPath, ['scripts/build-native.mjs', '--quiet', '--plain', '--out', dir], {
          cwd: REPO,
          env: { PARAMFLOW_NO_NATIVE: '', PARAMFLOW_BLAS: blas },
          reject: false,
        });
        expect(r.exitCode, r.stderr).toBe(0);
        expect(JSON.parse(readFileSync(join(dir, 'native.json'), 'utf8')), r.stderr).toMatchObject({ ok: true });
        const plain = { exports: {} as NativeAddon };
        process.dlopen(plain, join(dir, 'native.node'));
        for (const act of Object.values(ACTIVATION)) {
          for (const opt of Object.values(OPTIMIZER)) {
            for (const batch of [16, 64]) {
              const [a, b] = [train(wide, act, opt, batch, 60), train(plain.exports, act, opt, batch, 60)];
              expect({ act, opt, batch, hash: a }).toEqual({ act, opt, batch, hash: b });
            }
          }
        }
      },
    );
  },
);

#!/usr/bin/env node
// sgemm throughput (GFLOP/s, best of 5): paramflow's own GEMM (the installed addon) against an
// addon built in the same run with the opt-in PARAMFLOW_BLAS=openblas (needs libopenblas-dev),
// both on one thread, at the seed study's shapes (batch × 2000 × 64 forward, 2000 × batch × 64
// weight gradients, M2's layers) and at n × n × n on 1 and 2 threads; numpy (OpenBLAS) at
// n × n × n when /usr/bin/python3 has numpy. Prints one JSON object:
// { n, shapes: [{ label, m, n, k, ta, tb, own, openblas, ratio }], square: { own, openblas, numpy }
// ({ threads_1, threads_2 } each or null), kernel, openblas_core, problems }.
//
//   node bench/sgemm.mjs [N]
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.argv[2] ?? 2000);
const REPEATS = 5;
const problems = [];

// [label, transA, transB, m, n, k]: the products one fused training step makes.
const SHAPES = [
  ['seed forward b64', 0, 0, 64, 64, 2000],
  ['seed dW b64', 1, 0, 2000, 64, 64],
  ['seed forward b256', 0, 0, 256, 64, 2000],
  ['seed dW b256', 1, 0, 2000, 64, 256],
  ['seed dx b64 (B^T)', 0, 1, 64, 2000, 64],
  ['M2 layer 1 fwd b256', 0, 0, 256, 512, 2000],
  ['M2 layer 1 dW b256', 1, 0, 2000, 512, 256],
  ['M2 layer 2 dx b256', 0, 1, 256, 512, 256],
];

function load(path) {
  const module = { exports: {} };
  process.dlopen(module, path);
  return module.exports;
}

function values(count, seed) {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = Math.sin(seed * 0.37 + i * 0.011);
  return out;
}

/** GFLOP/s of op(A)·op(B), the best of REPEATS timings of enough calls to last ~50 ms. */
function gflops(addon, [ta, tb, m, n, k]) {
  const [a, b, c] = [values(m * k, 1), values(k * n, 2), new Float32Array(m * n)];
  const calls = Math.max(1, Math.round(5e8 / (2 * m * n * k)));
  for (let i = 0; i < calls; i++) addon.sgemm(ta, tb, 1, m, n, k, a, 0, b, 0, c); // warm-up
  let best = Infinity;
  for (let r = 0; r < REPEATS; r++) {
    const t = performance.now();
    for (let i = 0; i < calls; i++) addon.sgemm(ta, tb, 1, m, n, k, a, 0, b, 0, c);
    best = Math.min(best, (performance.now() - t) / calls);
  }
  return Math.round((2 * m * n * k) / best / 1e5) / 10;
}

function square(addon) {
  const out = {};
  for (const threads of [1, 2]) {
    addon.setThreads(threads);
    out[`threads_${threads}`] = gflops(addon, [0, 0, N, N, N]);
  }
  addon.setThreads(1);
  return out;
}

async function ownAddon() {
  const { nativeProblem, addonPath } = await import(join(ROOT, 'dist', 'src', 'backend', 'native', 'addon.js'));
  const problem = nativeProblem();
  if (problem) return (problems.push(`own: ${problem}`), null);
  const addon = load(addonPath());
  if (addon.gemmKernel() === 'openblas')
    return (problems.push('own: the installed addon is an OpenBLAS build (rebuild with `npm run build:native`)'), null);
  return addon;
}

/** The opt-in OpenBLAS build, made in a temp folder (the installed addon is left alone). */
async function openblasAddon(dir) {
  const r = await execa(process.execPath, [join(ROOT, 'scripts', 'build-native.mjs'), '--quiet', '--out', dir], {
    env: { PARAMFLOW_BLAS: 'openblas', PARAMFLOW_NO_NATIVE: '' },
    reject: false,
  });
  const status = JSON.parse(readFileSync(join(dir, 'native.json'), 'utf8'));
  if (r.exitCode !== 0 || !status.ok)
    return (problems.push(`openblas: ${status.reason ?? r.stderr} (apt-get install libopenblas-dev)`), null);
  return load(join(dir, 'native.node'));
}

const NUMPY = `
import sys, time, numpy as np
n = int(sys.argv[1]); a = np.random.rand(n, n).astype(np.float32); b = np.random.rand(n, n).astype(np.float32)
a @ b
best = min((lambda t: (a @ b, time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(${REPEATS}))
print(round(2 * n ** 3 / best / 1e9, 1))
`;

async function numpy() {
  if (!existsSync('/usr/bin/python3')) return (problems.push('numpy: /usr/bin/python3 not found'), null);
  const out = {};
  for (const threads of [1, 2]) {
    const env = { OPENBLAS_NUM_THREADS: `${threads}`, OMP_NUM_THREADS: `${threads}` };
    const r = await execa('/usr/bin/python3', ['-c', NUMPY, `${N}`], { env, reject: false });
    if (r.exitCode !== 0)
      return (problems.push(`numpy: ${r.stderr.trim().split('\n').at(-1)} (apt-get install python3-numpy)`), null);
    out[`threads_${threads}`] = Number(r.stdout.trim());
  }
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'pf-openblas-'));
try {
  const own = await ownAddon();
  const openblas = await openblasAddon(dir);
  for (const a of [own, openblas]) a?.setThreads(1);
  const shapes = SHAPES.map(([label, ...shape]) => {
    const [ta, tb, m, n, k] = shape;
    const o = own ? gflops(own, shape) : null;
    const b = openblas ? gflops(openblas, shape) : null;
    return { label, m, n, k, ta, tb, own: o, openblas: b, ratio: o && b ? Math.round((o / b) * 100) / 100 : null };
  });
  const result = {
    n: N,
    shapes,
    square: { own: own ? square(own) : null, openblas: openblas ? square(openblas) : null, numpy: await numpy() },
    kernel: own?.gemmKernel() ?? null,
    openblas_core: openblas ? (/\(core ([^)]+)\)/.exec(openblas.blas())?.[1] ?? openblas.blas()) : null,
    problems,
  };
  console.log(JSON.stringify(result));
} finally {
  rmSync(dir, { recursive: true, force: true });
}

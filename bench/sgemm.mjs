#!/usr/bin/env node
// sgemm throughput, 2000×2000 float32 (best of 5): paramflow's native addon on 1 and 2 threads,
// and numpy (OpenBLAS) on 1 and 2 threads when /usr/bin/python3 has numpy. Prints one JSON
// object: { n, addon: { threads_1, threads_2 } | null, numpy: { threads_1, threads_2 } | null,
// blas, problems } in GFLOP/s.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.argv[2] ?? 2000);
const REPEATS = 5;
const problems = [];

async function addon() {
  const { nativeProblem, loadAddon } = await import(join(ROOT, 'dist', 'src', 'backend', 'native', 'addon.js'));
  const problem = nativeProblem();
  if (problem) return problems.push(`addon: ${problem}`), null;
  const a = loadAddon();
  const A = new Float32Array(N * N).map((_, i) => Math.sin(i));
  const B = new Float32Array(N * N).map((_, i) => Math.cos(0.7 * i));
  const C = new Float32Array(N * N);
  const out = { blas: a.blas() };
  for (const threads of [1, 2]) {
    a.setThreads(threads);
    a.sgemm(0, 0, 1, N, N, N, A, 0, B, 0, C); // warm-up
    let best = Infinity;
    for (let r = 0; r < REPEATS; r++) {
      const t = performance.now();
      a.sgemm(0, 0, 1, N, N, N, A, 0, B, 0, C);
      best = Math.min(best, performance.now() - t);
    }
    out[`threads_${threads}`] = Math.round((2 * N ** 3) / best / 1e5) / 10;
  }
  return out;
}

const NUMPY = `
import sys, time, numpy as np
n = int(sys.argv[1]); a = np.random.rand(n, n).astype(np.float32); b = np.random.rand(n, n).astype(np.float32)
a @ b
best = min((lambda t: (a @ b, time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(${REPEATS}))
print(round(2 * n ** 3 / best / 1e9, 1))
`;

async function numpy() {
  if (!existsSync('/usr/bin/python3')) return problems.push('numpy: /usr/bin/python3 not found'), null;
  const out = {};
  for (const threads of [1, 2]) {
    const env = { OPENBLAS_NUM_THREADS: `${threads}`, OMP_NUM_THREADS: `${threads}` };
    const r = await execa('/usr/bin/python3', ['-c', NUMPY, `${N}`], { env, reject: false });
    if (r.exitCode !== 0) return problems.push(`numpy: ${r.stderr.trim().split('\n').at(-1)} (apt-get install python3-numpy)`), null;
    out[`threads_${threads}`] = Number(r.stdout.trim());
  }
  return out;
}

const a = await addon();
const np = await numpy();
const { blas, ...addonFigures } = a ?? {};
console.log(JSON.stringify({ n: N, addon: a ? addonFigures : null, numpy: np, blas: blas ?? null, problems }));

#!/usr/bin/env node
// Training throughput of paramflow (tfjs-layers on each TensorFlow.js backend that loads) against
// a PyTorch reference, on the PERF-NOTES workload: 10,000 samples × 2,000 inputs → 4 targets,
// Adam, MSE; models M1 and M2 at batch 32 and 256; warm-up, then the best of 2 epochs.
//
//   npm run bench [-- --json FILE] [--quick] [--backends wasm,cpu] [--models M1] [--batches 32]
//                    [--cores 1,2] [--epoch-seconds 10] [--no-pytorch] [--no-tracking] [--no-sweep]
//                    [--no-study] [--study-epochs 20] [--tfjs-path] [--no-search] [--scaling]
//
// cores = parallel training processes (tfjs-backend-wasm runs on one thread in Node, PERF-NOTES
// 2); samples/s are summed over them. PyTorch at 2 cores is the better of 1 process × 2 threads
// and 2 processes × 1 thread. Epochs of slow cases stop after --epoch-seconds (whole batches;
// see samples_timed). PARAMFLOW_WASM_MATMUL_FIX=0 measures wasm without the matMul fix.
// native runs one BLAS thread per process (PARAMFLOW_BLAS_THREADS=1), like PyTorch's 1-thread rows.
// Each backend trains the way paramflow trains on it (train-bench.mjs): native with the fused
// trainer (unless PARAMFLOW_FUSED=0); --tfjs-path adds native rows through tfjs-layers, to compare.
// Also, in the same run: sgemm GFLOP/s of the own GEMM against an opt-in OpenBLAS build at the
// seed shapes, and of numpy (bench/sgemm.mjs);
// seed-study.yaml cold, its simulate + add-noise stages (10,000 × 1,000) and its cached no-op
// rerun next to a bare Node start (bench/pipelines.mjs); the sweep speed-up (sweep-speedup.mjs);
// the seed study's real train stage (its data, folds, scalers, all 4 folds, --study-epochs fixed
// epochs, early stopping off) against bench/torch_study.py, a PyTorch peer on the same cached
// arrays, with and without flushing denormals, plus paramflow's last/first epoch time
// (bench/study-train.mjs, a few minutes; --no-study skips it); TPE + ASHA against the grid it
// replaces on an 80-trial space, three TPE seeds (bench/tpe-vs-grid.mjs, a few minutes; --no-search);
// only with --scaling (minutes, and 12 GB of disk at 10⁶): the seed study at n = 10⁴, 10⁵, 10⁶ with
// time per curve and peak private memory (bench/scaling.mjs; --quick: 10³ and 10⁴).
// JSON (--json): { training: rows { backend, model, batch, samples_per_s, pytorch_samples_per_s,
// ratio, cores, matmul_fix, samples_timed, pytorch_mode, trainer }, sgemm, pipeline, sweep, study, search, scaling,
// tracking, load_before, load_after, notes }; pytorch fields are null without it, sections null
// when skipped (study: study-train.mjs's --json report).
import { execa } from 'execa';
import { existsSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { BACKENDS, backendProblem } from '../dist/src/backend/probe.js';
import { runGroup } from './process-group.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const PYTHON = '/usr/bin/python3';
const INSTALL_PYTORCH = 'apt-get install python3-torch python3-numpy libopenblas0-pthread';
const FULL = { n: 10000, inputs: 2000, epochSeconds: 10, warmupSeconds: 2 };
const QUICK = { n: 256, inputs: 32, epochSeconds: 0.2, warmupSeconds: 0.05 };

const { values: opts } = parseArgs({
  options: {
    json: { type: 'string' },
    quick: { type: 'boolean', default: false },
    backends: { type: 'string' },
    models: { type: 'string', default: 'M1,M2' },
    batches: { type: 'string', default: '32,256' },
    cores: { type: 'string', default: '1,2' },
    'epoch-seconds': { type: 'string' },
    'no-pytorch': { type: 'boolean', default: false },
    'no-tracking': { type: 'boolean', default: false },
    'no-sweep': { type: 'boolean', default: false },
    'no-search': { type: 'boolean', default: false },
    scaling: { type: 'boolean', default: false },
    'no-study': { type: 'boolean', default: false },
    'study-epochs': { type: 'string' },
    'no-sgemm': { type: 'boolean', default: false },
    'no-pipeline': { type: 'boolean', default: false },
    'tfjs-path': { type: 'boolean', default: false },
  },
});
const size = { ...(opts.quick ? QUICK : FULL) };
if (opts['epoch-seconds']) size.epochSeconds = Number(opts['epoch-seconds']);
const cores = opts.cores.split(',').map(Number);
const common = [
  '--models',
  opts.models,
  '--batches',
  opts.batches,
  '--n',
  `${size.n}`,
  '--inputs',
  `${size.inputs}`,
  '--epoch-seconds',
  `${size.epochSeconds}`,
  '--warmup-seconds',
  `${size.warmupSeconds}`,
];
const log = (line) => process.stderr.write(`${line}\n`);
// One BLAS thread per training process: "cores" are processes (see above).
process.env.PARAMFLOW_BLAS_THREADS = '1';
const key = (r) => `${r.model}/${r.batch}`;

/** Why the PyTorch reference cannot run here, or undefined. */
async function pytorchProblem() {
  if (opts['no-pytorch']) return '--no-pytorch';
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const probe = await execa(PYTHON, ['-c', 'import torch, numpy'], { reject: false });
  if (probe.failed) return `${PYTHON} cannot import torch and numpy`;
  const blas = await execa('dpkg-query', ['-W', '-f=${Status}', 'libopenblas0-pthread'], { reject: false });
  if (blas.failed || !blas.stdout.includes('install ok installed'))
    return 'libopenblas0-pthread is not installed (torch would use the reference BLAS, ~30× slower)';
  return undefined;
}

/** PyTorch samples/s per (model, batch) at `n` cores: { samples_per_s, mode, torch } by key. */
async function measurePytorch(n) {
  const script = [join(HERE, 'torch_mlp.py'), ...common];
  const modes =
    n === 1
      ? [['1 process × 1 thread', 1, 1]]
      : [
          [`1 process × ${n} threads`, n, 1],
          [`${n} processes × 1 thread`, 1, n],
        ];
  const best = new Map();
  for (const [mode, threads, copies] of modes) {
    log(`  PyTorch, ${mode}…`);
    for (const r of await runGroup(PYTHON, [...script, '--threads', `${threads}`], copies)) {
      const prev = best.get(key(r));
      if (!prev || r.samples_per_s > prev.samples_per_s)
        best.set(key(r), { samples_per_s: r.samples_per_s, mode, torch: r.torch });
    }
  }
  return best;
}

/**
 * Throughput of `n` busy-loop processes relative to one: how many cores this machine really
 * gives at once (a VM can show 2 CPUs that share one), to read the cores > 1 rows by.
 */
async function parallelSpeedup(n) {
  const loop = `let x = 0; const t = performance.now(); for (let i = 0; i < ${opts.quick ? 3e7 : 4e8}; i++) x += i % 7; process.stdout.write(String(performance.now() - t));`;
  const spin = async () => Number((await execa(process.execPath, ['-e', loop])).stdout);
  const alone = await spin();
  const together = await Promise.all(Array.from({ length: n }, spin));
  return (n * alone) / Math.max(...together);
}

async function main() {
  const started = performance.now();
  const loadBefore = loadavg()[0];
  const rows = [];
  const notes = [];
  const backends = opts.backends ? opts.backends.split(',') : BACKENDS;
  const unknown = backends.filter((b) => !BACKENDS.includes(b));
  if (unknown.length) throw new Error(`unknown backend ${unknown.join(', ')}: choose from ${BACKENDS.join(', ')}`);
  // The machine's real parallelism, measured before and after: shared VMs vary over minutes.
  const parallel = opts.quick ? [] : cores.filter((c) => c > 1); // too short to mean anything in --quick
  const speedups = new Map();
  for (const n of parallel) speedups.set(n, await parallelSpeedup(n));
  log(
    `bench: ${size.n} samples × ${size.inputs} inputs → 4 targets${opts.quick ? ' (--quick)' : ''}; models ${opts.models}; batches ${opts.batches}; cores ${opts.cores}`,
  );

  const runs = backends.flatMap((backend) =>
    backend === 'native' && opts['tfjs-path']
      ? [
          [backend, []],
          [backend, ['--trainer', 'tfjs']],
        ]
      : [[backend, []]],
  );
  for (const [backend, extra] of runs) {
    const problem = backendProblem(backend);
    if (problem) {
      if (extra.length === 0) notes.push(`${backend}: not measured: ${problem}`);
      continue;
    }
    for (const n of cores) {
      log(`  paramflow on ${backend}${extra.length ? ' (tfjs-layers)' : ''}, ${n} process${n > 1 ? 'es' : ''}…`);
      try {
        const results = await runGroup(
          process.execPath,
          [join(HERE, 'train-bench.mjs'), '--backend', backend, ...extra, ...common],
          n,
        );
        for (const r of results)
          rows.push({
            backend,
            model: r.model,
            batch: r.batch,
            samples_per_s: r.samples_per_s,
            pytorch_samples_per_s: null,
            ratio: null,
            cores: n,
            matmul_fix: r.matmul_fix,
            samples_timed: r.samples_timed,
            pytorch_mode: null,
            trainer: r.trainer,
          });
      } catch (e) {
        notes.push(`${backend}: did not load or train: ${e.message}`);
        break;
      }
    }
  }

  const missing = await pytorchProblem();
  if (missing) {
    notes.push(
      `PyTorch reference not measured: ${missing}.${missing === '--no-pytorch' ? '' : ` Install it with \`${INSTALL_PYTORCH}\` (Debian).`}`,
    );
  } else {
    for (const n of cores) {
      const reference = await measurePytorch(n);
      for (const row of rows.filter((r) => r.cores === n)) {
        const ref = reference.get(key(row));
        if (!ref) continue;
        row.pytorch_samples_per_s = ref.samples_per_s;
        row.ratio = Math.round((row.samples_per_s / ref.samples_per_s) * 1000) / 1000;
        row.pytorch_mode = ref.mode;
        if (!notes.some((t) => t.startsWith('PyTorch')))
          notes.push(`PyTorch ${ref.torch} (${PYTHON}, OpenBLAS); 1 core = 1 thread with OPENBLAS_NUM_THREADS=1.`);
      }
    }
  }

  printTable(rows);
  for (const n of parallel) {
    const [before, after] = [speedups.get(n), await parallelSpeedup(n)].map((x) => `${x.toFixed(2)}×`);
    notes.push(
      `${n} busy-loop processes got ${before} (before the runs) and ${after} (after) the throughput of one, ideal ${n}×: the cores = ${n} rows cannot scale beyond that.`,
    );
  }
  const fix = rows.find((r) => r.backend === 'wasm')?.matmul_fix;
  if (fix !== undefined)
    notes.push(`wasm matMul fix ${fix ? 'on' : 'off'} (PARAMFLOW_WASM_MATMUL_FIX=${fix ? '0 turns it off' : '0'}).`);
  notes.push('cores = parallel training processes, samples/s summed; wasm uses one thread per process in Node.');
  for (const n of notes) console.log(`- ${n}`);
  const sgemm = opts['no-sgemm'] ? null : await sgemmFigures();
  const pipeline = opts['no-pipeline'] ? null : await pipelineFigures();
  const tracking = opts['no-tracking'] ? null : await trackingOverhead();
  const sweep = opts['no-sweep'] ? null : await sweepSpeedup();
  const study = opts['no-study'] ? null : await studyTrain();
  const search = opts['no-search'] ? null : await searchVsGrid();
  const scaling = opts.scaling ? await scalingRows() : null;
  const loadAfter = loadavg()[0];
  console.log(
    `- load average (1 min) ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after (figures mean little above ~1.5 on 2 cores)`,
  );
  console.log(`- took ${Math.round((performance.now() - started) / 1000)} s`);
  const report = {
    training: rows,
    sgemm,
    pipeline,
    sweep,
    study,
    search,
    scaling,
    tracking,
    load_before: loadBefore,
    load_after: loadAfter,
    notes,
  };
  if (opts.json) writeFileSync(opts.json, `${JSON.stringify(report, null, 2)}\n`);
  if (!rows.length) process.exitCode = 1;
}

/** MLflow logging's cost: the seed study logged to the test double vs not (quick.yaml with --quick). */
async function trackingOverhead() {
  const args = opts.quick
    ? ['--pipeline', 'pipelines/quick.yaml', '--set', 'train.epochs=3', '--rounds', '1']
    : ['--pipeline', 'pipelines/seed-study.yaml'];
  const r = await execa(process.execPath, [join(HERE, 'tracking-overhead.mjs'), ...args], {
    reject: false,
    stderr: 'inherit',
  });
  console.log(r.exitCode === 0 ? `- ${r.stdout.trim()}` : `- tracking overhead not measured: ${r.stdout || r.message}`);
  return r.exitCode === 0 ? { summary: r.stdout.trim() } : null;
}

/** Trials in parallel worker processes: --jobs 2 against --jobs 1 on the same 8-trial sweep. */
async function sweepSpeedup() {
  const { tmpdir } = await import('node:os');
  const file = join(tmpdir(), `paramflow-bench-sweep-${process.pid}.json`);
  const r = await execa(
    process.execPath,
    [join(HERE, 'sweep-speedup.mjs'), '--json', file, ...(opts.quick ? ['--epochs', '2'] : [])],
    { reject: false, stderr: 'inherit' },
  );
  console.log(
    r.exitCode === 0
      ? r.stdout
          .trim()
          .split('\n')
          .map((l) => `- ${l}`)
          .join('\n')
      : `- sweep speed-up not measured: ${r.stdout || r.message}`,
  );
  if (r.exitCode !== 0) return null;
  try {
    const { readFileSync, rmSync } = await import('node:fs');
    const figures = JSON.parse(readFileSync(file, 'utf8'));
    rmSync(file, { force: true });
    return figures;
  } catch {
    return { summary: r.stdout.trim() };
  }
}

/** The seed study at growing n: time per curve and peak private memory (scaling.mjs). */
async function scalingRows() {
  const sizes = opts.quick ? ['--sizes', '1000,10000'] : [];
  const r = await execa(process.execPath, [join(HERE, 'scaling.mjs'), ...sizes], { reject: false, stderr: 'inherit' });
  if (r.exitCode !== 0) {
    console.log(`- scaling not measured: ${r.stderr || r.stdout || r.message}`);
    return null;
  }
  const figures = JSON.parse(r.stdout);
  for (const row of figures.rows)
    console.log(
      `- scaling: n = ${row.n}, ${row.epochs} epochs: ${row.wall_s} s, ${row.us_per_curve} µs per curve (${row.per_curve_ratio}× the smallest n's), peak RssAnon ${row.peak_rss_anon_mb} MB`,
    );
  for (const why of figures.skipped) console.log(`- scaling skipped: ${why}`);
  return figures;
}

/** TPE + ASHA against the grid on one space (tpe-vs-grid.mjs; --quick: 300 curves, 6 epochs, one TPE seed). */
async function searchVsGrid() {
  const { readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const file = join(tmpdir(), `paramflow-bench-search-${process.pid}.json`);
  const quick = opts.quick ? ['--n', '300', '--epochs', '6', '--seeds', '1'] : [];
  const r = await execa(process.execPath, [join(HERE, 'tpe-vs-grid.mjs'), '--json', file, ...quick], {
    reject: false,
    stderr: 'inherit',
  });
  if (r.exitCode !== 0) {
    console.log(`- search vs grid not measured: ${r.stderr || r.stdout || r.message}`);
    return null;
  }
  const figures = JSON.parse(readFileSync(file, 'utf8'));
  rmSync(file, { force: true });
  const g = figures.grid;
  const m = figures.median;
  console.log(
    `- search: grid ${g.trials} trials, best ${g.best}, ${g.epochs} epochs · TPE + ASHA (median of ${figures.tpe_asha.length} seeds): ${m.gap_pct}% from the grid's best on ${m.epochs_pct}% of its epochs (goal ≤ 2% on ≤ 35%)`,
  );
  return figures;
}

/** The seed study's train stage against the PyTorch peer on the same arrays (study-train.mjs; --quick: a tiny study). */
async function studyTrain() {
  const { readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const file = join(tmpdir(), `paramflow-bench-study-${process.pid}.json`);
  const args = [
    '--cores',
    opts.cores,
    ...(opts.quick ? ['--quick'] : []),
    ...(opts['study-epochs'] ? ['--epochs', opts['study-epochs']] : []),
    ...(opts['no-pytorch'] ? ['--no-pytorch'] : []),
  ];
  const r = await execa(process.execPath, [join(HERE, 'study-train.mjs'), '--json', file, ...args], {
    reject: false,
    stderr: 'inherit',
  });
  console.log(
    r.exitCode === 0
      ? r.stdout
          .trim()
          .split('\n')
          .map((l) => `- ${l}`)
          .join('\n')
      : `- seed study train stage not measured: ${r.stdout || r.message}`,
  );
  if (r.exitCode !== 0) return null;
  const figures = JSON.parse(readFileSync(file, 'utf8'));
  rmSync(file, { force: true });
  return figures;
}

/** sgemm GFLOP/s: paramflow's own GEMM against the opt-in OpenBLAS build at the seed shapes, and n³. */
async function sgemmFigures() {
  log('  sgemm: own GEMM and OpenBLAS at the seed shapes, and n×n×n…');
  const r = await execa(process.execPath, [join(HERE, 'sgemm.mjs'), opts.quick ? '500' : '2000'], { reject: false });
  if (r.exitCode !== 0) return (console.log(`- sgemm not measured: ${r.stderr || r.message}`), null);
  const s = JSON.parse(r.stdout);
  const f = (x) => (x ? `${x.threads_1} (1 thread), ${x.threads_2} (2 threads)` : 'not measured');
  console.log(
    `- sgemm GFLOP/s, 1 thread, own GEMM (${s.kernel ?? '–'} kernel) vs OpenBLAS (${s.openblas_core ?? 'not built'}):`,
  );
  for (const x of s.shapes)
    console.log(
      `    ${x.label.padEnd(22)} ${String(x.own ?? '–').padStart(6)} vs ${String(x.openblas ?? '–').padStart(6)}  ${x.ratio ?? '–'}×`,
    );
  const ratios = s.shapes.filter((x) => x.label.startsWith('seed') && x.ratio !== null).map((x) => x.ratio);
  if (ratios.length) {
    const worst = Math.min(...ratios);
    console.log(
      `    goal own ≥ 0.9× OpenBLAS at the seed shapes: ${worst >= 0.9 ? 'met' : 'NOT met'} (worst ${worst}×)`,
    );
  }
  console.log(
    `- sgemm ${s.n}³ GFLOP/s: own ${f(s.square.own)}; OpenBLAS ${f(s.square.openblas)}; numpy ${f(s.square.numpy)}${s.problems.length ? ` (${s.problems.join('; ')})` : ''}`,
  );
  return s;
}

/** seed-study.yaml cold, its simulate + add-noise, and its cached no-op rerun against a bare Node start. */
async function pipelineFigures() {
  log(`  ${opts.quick ? 'quick' : 'seed-study'}.yaml cold, then cached…`);
  const r = await execa(process.execPath, [join(HERE, 'pipelines.mjs'), ...(opts.quick ? ['--quick'] : [])], {
    reject: false,
  });
  if (r.exitCode !== 0) return (console.log(`- pipeline figures not measured: ${r.stderr || r.message}`), null);
  const p = JSON.parse(r.stdout);
  console.log(
    `- ${p.pipeline}: cold ${p.cold_s} s (--jobs 1); simulate + add-noise of ${p.simulate_noise_size} in ${p.simulate_noise_ms} ms; cached no-op rerun as the README calls it (\`./paramflow run\`) ${Math.round(p.cached_noop_ms)} ms = ${p.noop_over_node_start}× a bare \`node -e 0\` (${Math.round(p.node_start_ms)} ms)`,
  );
  return p;
}

function printTable(rows) {
  const fmt = (x) => (x === null ? '–' : x >= 100 ? Math.round(x).toLocaleString('en-US') : `${x}`);
  const header = [
    'backend',
    'model',
    'batch',
    'cores',
    'paramflow samples/s',
    'PyTorch samples/s',
    'ratio',
    'timed samples',
  ];
  const body = rows.map((r) => [
    r.backend +
      (r.matmul_fix === false ? ' (no fix)' : '') +
      (r.backend === 'native' ? (r.trainer === 'fused' ? ' (fused)' : ' (tfjs-layers)') : ''),
    r.model,
    `${r.batch}`,
    `${r.cores}`,
    fmt(r.samples_per_s),
    fmt(r.pytorch_samples_per_s),
    r.ratio === null ? '–' : r.ratio.toFixed(3),
    r.samples_timed < size.n ? fmt(r.samples_timed) : 'full epoch',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) =>
    `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i < 2 ? ` ${'-'.repeat(w)} ` : ` ${'-'.repeat(w - 1)}: `)).join('|')}|`);
  for (const b of body) console.log(line(b));
}

main().catch((e) => {
  console.error(`bench: ${e.message}`);
  process.exitCode = 1;
});

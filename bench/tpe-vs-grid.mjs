#!/usr/bin/env node
// Model-based search with early stopping against the grid it replaces, on one fixed space the
// grid covers: the seed study (1,000 curves, 30 epochs, its model and data) over batch size (5)
// × learning rate (4) × hidden units (2) × BatchNorm on the output (2) = 80 trials. The grid
// runs once; TPE + ASHA (30% of the grid's trials as its budget) runs once per TPE seed, each
// sweep in a fresh project (its own cache: no trial is a cache hit of another sweep's). Training
// epochs are counted from the runs' records: every fold's epochs for a finished trial, fold 0's
// epochs up to its rung for a pruned one. Prints one JSON object; the goal is the
// median row: within 2% of the grid's best objective on ≤ 35% of its training epochs.
//
//   node bench/tpe-vs-grid.mjs [--seeds 1,2,3] [--n 1000] [--epochs 30] [--budget 24] [--json FILE]
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const { values: opts } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1,2,3' },
    n: { type: 'string', default: '1000' },
    epochs: { type: 'string', default: '30' },
    budget: { type: 'string', default: '24' },
    jobs: { type: 'string', default: '2' },
    json: { type: 'string' },
  },
});

const LAYERS = {
  'linear-output': [{ dense: { units: 64, activation: 'relu' } }, { dense: { units: 4 } }],
  'bn-output': [{ dense: { units: 64, activation: 'relu' } }, { dense: { units: 4 } }, { batch_norm: {} }],
};
const SPACE = `  grid:
    train.batch_size: [16, 32, 64, 128, 256]
    train.optimizer.adam.lr: [0.0003, 0.001, 0.003, 0.01]
    train.layers: ${JSON.stringify(LAYERS)}
    train.layers.0.dense.units: [16, 64]
`;
const sets = ['--set', `simulate.n=${opts.n}`, '--set', `train.epochs=${opts.epochs}`];

/** The seed study with `sweep` in a fresh project; returns the sweep record and the runs' records. */
async function sweep(sweepBlock, jobs) {
  const dir = mkdtempSync(join(tmpdir(), 'pf-bench-tpe-'));
  try {
    mkdirSync(join(dir, '.paramflow'));
    const base = readFileSync(join(ROOT, 'pipelines', 'seed-study.yaml'), 'utf8').replace(/\ntracking:.*\n/, '\n');
    writeFileSync(join(dir, 'p.yaml'), `${base}\nsweep:\n${sweepBlock}`);
    const t0 = Date.now();
    const r = await execa(process.execPath, [CLI, 'run', 'p.yaml', '--json', '--jobs', `${jobs}`, ...sets], {
      cwd: dir,
      reject: false,
      env: { MLFLOW_TRACKING_URI: '' },
    });
    if (r.exitCode !== 0)
      throw new Error(`sweep failed (${r.exitCode}):\n${r.stderr.split('\n').slice(-8).join('\n')}`);
    const record = JSON.parse(r.stdout);
    const runs = record.trials.map((t) => {
      const id = t.replicates[0].runId;
      return id ? JSON.parse(readFileSync(join(dir, '.paramflow', 'runs', id, 'run.json'), 'utf8')) : undefined;
    });
    return { record, runs, seconds: (Date.now() - t0) / 1000 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Training epochs × folds the sweep's trials ran. */
function epochs({ record, runs }) {
  let sum = 0;
  record.trials.forEach((t, i) => {
    const pruned = t.replicates[0].pruned;
    if (pruned) return void (sum += pruned.epoch);
    for (const f of runs[i]?.stages.train?.folds ?? []) sum += f.series.val_loss.length;
  });
  return sum;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x, d = 4) => Number(x.toFixed(d));

const grid = await sweep(SPACE, Number(opts.jobs));
const gridBest = grid.record.best.objective.mean;
const gridEpochs = epochs(grid);
console.error(
  `grid: ${grid.record.trials.length} trials, best ${gridBest.toFixed(4)}, ${gridEpochs} epochs, ${grid.seconds.toFixed(0)} s`,
);
const rows = [];
for (const seed of opts.seeds.split(',').map(Number)) {
  const block = `  tpe: { seed: ${seed}, startup: 8 }
  budget: { trials: ${opts.budget} }
  prune: { method: asha, min_epochs: 3, reduction_factor: 3 }
${SPACE}`;
  // --jobs 1: TPE's proposals and ASHA's decisions are deterministic one trial at a time.
  const s = await sweep(block, 1);
  const best = s.record.best.objective.mean;
  const e = epochs(s);
  const row = {
    tpe_seed: seed,
    trials: s.record.trials.length,
    pruned: s.record.trials.filter((t) => t.replicates[0].status === 'PRUNED').length,
    best: round(best, 5),
    gap_pct: round(((best - gridBest) / gridBest) * 100, 2),
    epochs: e,
    epochs_pct: round((e / gridEpochs) * 100, 1),
    seconds: round(s.seconds, 0),
  };
  console.error(`tpe+asha seed ${seed}: ${JSON.stringify(row)}`);
  rows.push(row);
}
const out = {
  space: '5 batch sizes × 4 learning rates × 2 output layouts × 2 widths = 80 trials',
  n: Number(opts.n),
  epochs: Number(opts.epochs),
  grid: {
    trials: grid.record.trials.length,
    best: round(gridBest, 5),
    // How much the space matters: the spread of the grid's objectives (a flat space proves nothing).
    median_trial: round(median(grid.record.trials.map((t) => t.objective.mean)), 5),
    worst_trial: round(Math.max(...grid.record.trials.map((t) => t.objective.mean)), 5),
    // Trials within 2% of the best: what a search must hit by luck or skill.
    within_2pct: grid.record.trials.filter((t) => t.objective.mean <= gridBest * 1.02).length,
    epochs: gridEpochs,
    seconds: round(grid.seconds, 0),
  },
  tpe_asha: rows,
  median: {
    gap_pct: median(rows.map((r) => r.gap_pct)),
    epochs_pct: median(rows.map((r) => r.epochs_pct)),
  },
  goal: 'gap_pct ≤ 2 and epochs_pct ≤ 35',
};
console.log(JSON.stringify(out));
if (opts.json) writeFileSync(opts.json, JSON.stringify(out, null, 2) + '\n');

#!/usr/bin/env node
// Sweep parallelism: the wall time of one sweep of 8 trials on quick.yaml with --jobs 1
// and with --jobs 2, each in a fresh project (cold cache), in one session. Workers get
// one BLAS thread each; the speed-up can not exceed what the machine's cores give.
// One row per trial length (--epochs 10,40: short trials of about a second, and
// quick.yaml's own 40 epochs with early stopping): a sweep's fixed costs (starting
// node and the workers, loading TensorFlow.js, V8 warming up, the shared upstream
// stages) do not parallelize, so the speed-up grows with the work per trial.
//
//   node bench/sweep-speedup.mjs [--epochs 10,40] [--trials 8] [--json FILE]
import { execa } from 'execa';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const { values: opts } = parseArgs({ options: { epochs: { type: 'string', default: '10,40' }, trials: { type: 'string', default: '8' }, json: { type: 'string' } } });
// trials = 2 batch sizes × n learning rates (8: 4 rates; 16: 8 rates …).
const RATES = Array.from({ length: Math.max(1, Math.round(Number(opts.trials) / 2)) }, (_, i) => (0.001 * (i + 1)).toFixed(3));

async function timed(jobs, epochs) {
  const dir = mkdtempSync(join(tmpdir(), `pf-bench-sweep-${jobs}-`));
  mkdirSync(join(dir, '.paramflow'));
  copyFileSync(join(ROOT, 'pipelines', 'quick.yaml'), join(dir, 'quick.yaml'));
  const sweep = ['--sweep', 'train.batch_size=16,32', '--sweep', `train.optimizer.adam.lr=${RATES.join(',')}`, '--set', `train.epochs=${epochs}`];
  const t0 = process.hrtime.bigint();
  const r = await execa(process.execPath, [CLI, 'run', 'quick.yaml', '--json', '--jobs', `${jobs}`, ...sweep], { cwd: dir, reject: false });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  rmSync(dir, { recursive: true, force: true });
  if (r.exitCode !== 0) throw new Error(`sweep failed:\n${r.stderr}`);
  const record = JSON.parse(r.stdout);
  return { seconds, objectives: Object.fromEntries(record.trials.map((t) => [t.id, t.objective?.mean])) };
}

const rows = [];
for (const epochs of opts.epochs.split(',').map(Number)) {
  const one = await timed(1, epochs);
  const two = await timed(2, epochs);
  const row = { trials: 2 * RATES.length, epochs, jobs1_s: one.seconds, jobs2_s: two.seconds, speedup: one.seconds / two.seconds, identical: JSON.stringify(one.objectives) === JSON.stringify(two.objectives) };
  rows.push(row);
  process.stdout.write(
    `sweep of ${row.trials} trials (quick.yaml, ${epochs} epochs): --jobs 1 ${one.seconds.toFixed(1)} s, --jobs 2 ${two.seconds.toFixed(1)} s → ${row.speedup.toFixed(2)}× (goal ≥ 1.8× on 2 cores); results ${row.identical ? 'identical' : 'DIFFER'}\n`,
  );
}
if (opts.json) writeFileSync(opts.json, JSON.stringify({ rows }, null, 2) + '\n');
if (rows.some((r) => !r.identical)) process.exitCode = 1;

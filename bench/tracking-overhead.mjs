#!/usr/bin/env node
// Tracking overhead: the wall time of a pipeline run logged to MLflow (the project's test
// double of the server, on 127.0.0.1) against the same run not logged, in one session.
// Both runs use --no-cache, so every stage executes; the order alternates over the rounds.
//
//   node bench/tracking-overhead.mjs [--pipeline pipelines/seed-study.yaml] [--rounds 2] [--json FILE]
import { execa } from 'execa';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MlflowDouble } from '../dist/bench-support/mlflow-double.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const { values: opts } = parseArgs({
  options: {
    pipeline: { type: 'string', default: 'pipelines/seed-study.yaml' },
    rounds: { type: 'string', default: '2' },
    json: { type: 'string' },
    set: { type: 'string', multiple: true, default: [] },
  },
});

const project = mkdtempSync(join(tmpdir(), 'pf-bench-tracking-'));
mkdirSync(join(project, '.paramflow'));
const file = basename(opts.pipeline);
copyFileSync(join(ROOT, opts.pipeline), join(project, file));
const sets = opts.set.flatMap((s) => ['--set', s]);

async function timedRun(env) {
  const t0 = process.hrtime.bigint();
  const r = await execa(process.execPath, [CLI, 'run', file, '--no-cache', ...sets], {
    cwd: project,
    env,
    reject: false,
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.exitCode !== 0) throw new Error(`paramflow run failed:\n${r.stderr}`);
  return seconds;
}

const double = await MlflowDouble.start();
const times = { logged: [], plain: [] };
try {
  for (let round = 0; round < Number(opts.rounds); round++) {
    const order = round % 2 === 0 ? ['plain', 'logged'] : ['logged', 'plain'];
    for (const mode of order) {
      const env = { ...process.env, MLFLOW_TRACKING_URI: mode === 'logged' ? double.url : '' };
      const s = await timedRun(env);
      times[mode].push(s);
      process.stderr.write(`round ${round + 1}: ${mode} ${s.toFixed(1)} s\n`);
    }
  }
} finally {
  await double.down();
}
const best = (xs) => Math.min(...xs);
const row = {
  pipeline: opts.pipeline,
  plain_s: best(times.plain),
  logged_s: best(times.logged),
  overhead: best(times.logged) / best(times.plain) - 1,
  metrics_logged: [...double.store.runs.values()].reduce((a, r) => a + r.metrics.length, 0),
  runs_logged: double.store.runs.size,
};
process.stdout.write(
  `tracking overhead on ${row.pipeline}: ${row.logged_s.toFixed(1)} s logged vs ${row.plain_s.toFixed(1)} s not logged (best of ${opts.rounds}) → ${(100 * row.overhead).toFixed(1)}% (goal ≤ 3%); ${row.metrics_logged} metric points in ${row.runs_logged} MLflow runs\n`,
);
if (opts.json) writeFileSync(opts.json, JSON.stringify(row, null, 2) + '\n');

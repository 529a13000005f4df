#!/usr/bin/env node
// Whole-pipeline figures, in a fresh project: wall time of seed-study.yaml cold (--jobs 1,
// --profile: its simulate and add-noise stages are the 10,000 × 1,000 curves), then its cached
// no-op rerun called as the README tells users to call it (`./paramflow run …`, the clone's
// shim; best of 5) against a bare `node -e 0` start (best of 5). --quick uses quick.yaml
// (1,000 × 200). Prints one JSON object (figures in ms unless named _s).
import { execa } from 'execa';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const SHIM = join(ROOT, 'paramflow');
const quick = process.argv.includes('--quick');
const pipeline = quick ? 'quick.yaml' : 'seed-study.yaml';

async function wall(args, cwd, file = process.execPath) {
  const t0 = process.hrtime.bigint();
  const r = await execa(file, args, { cwd, reject: false });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.exitCode !== 0)
    throw new Error(`${args.join(' ')} failed (${r.exitCode}):\n${r.stderr.split('\n').slice(-5).join('\n')}`);
  return { ms, stdout: r.stdout };
}

async function best(n, args, cwd, file) {
  let b = Infinity;
  for (let i = 0; i < n; i++) b = Math.min(b, (await wall(args, cwd, file)).ms);
  return Math.round(b * 10) / 10;
}

const dir = mkdtempSync(join(tmpdir(), 'pf-bench-pipeline-'));
try {
  mkdirSync(join(dir, '.paramflow'));
  copyFileSync(join(ROOT, 'pipelines', pipeline), join(dir, pipeline));
  const cold = await wall([CLI, 'run', pipeline, '--jobs', '1', '--profile', '--json'], dir);
  const summary = JSON.parse(cold.stdout);
  const stage = (name) => summary.profile.find((p) => p.stage === name)?.ms ?? null;
  const nodeStart = await best(5, ['-e', '0'], dir);
  const noop = await best(5, ['run', pipeline], dir, SHIM);
  console.log(
    JSON.stringify({
      pipeline,
      cold_s: Math.round(cold.ms / 100) / 10,
      stage_ms: Object.fromEntries(summary.profile.map((p) => [p.stage, p.ms])),
      simulate_noise_ms: stage('simulate') + stage('noise'),
      simulate_noise_size: quick ? '1000 × 200' : '10000 × 1000',
      cached_noop_ms: noop,
      node_start_ms: nodeStart,
      noop_over_node_start: Math.round((noop / nodeStart) * 100) / 100,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

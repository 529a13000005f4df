#!/usr/bin/env node
// How a study grows with its data: seed-study.yaml at n = 10⁴, 10⁵, 10⁶ curves (--sizes), a
// fixed number of epochs (--epochs, default 2), each cold in a fresh project (removed after), with
// wall time, time per curve (and its ratio to the smallest n's) and the run's peak private memory
// (RssAnon from /proc, polled every 100 ms: mapped and cached file pages are not in it).
// A size is skipped, with the reason, when the disk cannot hold its cache (about 12 kB per curve)
// or the machine has no /proc. Prints one JSON object: { rows: [...], skipped: [...] }.
//
//   node bench/scaling.mjs [--sizes 10000,100000,1000000] [--epochs 2] [--json FILE]
import { execa } from 'execa';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statfsSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const BYTES_PER_CURVE = 3 * 1000 * 4 + 64; // X, Y and noisy Y of 1,000 float32 points; targets, folds

const { values: opts } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000,1000000' },
    epochs: { type: 'string', default: '2' },
    json: { type: 'string' },
  },
});

function rssAnonKb(pid) {
  try {
    return Number(/RssAnon:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

async function measure(n) {
  const dir = mkdtempSync(join(tmpdir(), 'pf-bench-scaling-'));
  try {
    const free = statfsSync(dir).bavail * statfsSync(dir).bsize;
    const need = n * BYTES_PER_CURVE * 1.1;
    if (free < need)
      return {
        skipped: `n = ${n}: needs about ${(need / 1e9).toFixed(1)} GB of disk, ${(free / 1e9).toFixed(1)} GB free`,
      };
    mkdirSync(join(dir, '.paramflow'));
    copyFileSync(join(ROOT, 'pipelines', 'seed-study.yaml'), join(dir, 'pipeline.yaml'));
    const args = ['run', 'pipeline.yaml', '--json', '--set', `simulate.n=${n}`, '--set', `train.epochs=${opts.epochs}`];
    const t0 = process.hrtime.bigint();
    const child = execa(process.execPath, [CLI, ...args], { cwd: dir, reject: false });
    let peak = 0;
    const poll = setInterval(() => (peak = Math.max(peak, rssAnonKb(child.pid))), 100);
    const r = await child;
    clearInterval(poll);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.exitCode !== 0)
      throw new Error(`n = ${n} failed (${r.exitCode}):\n${r.stderr.split('\n').slice(-5).join('\n')}`);
    const { runId } = JSON.parse(r.stdout);
    const record = JSON.parse(readFileSync(join(dir, '.paramflow', 'runs', runId, 'run.json'), 'utf8'));
    const stages = Object.fromEntries(
      Object.entries(record.stages).map(([name, s]) => [name, Math.round(s.durationMs / 100) / 10]),
    );
    return {
      n,
      epochs: Number(opts.epochs),
      wall_s: Math.round(seconds * 10) / 10,
      us_per_curve: Math.round((seconds / n) * 1e7) / 10,
      peak_rss_anon_mb: existsSync('/proc/self/status') ? Math.round(peak / 1024) : null,
      stage_s: stages,
      cv_rmse_mean: record.metrics.cv_rmse_mean,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows = [];
const skipped = [];
if (!existsSync('/proc/self/status')) skipped.push('no /proc: peak private memory cannot be read here');
else
  for (const n of opts.sizes.split(',').map(Number)) {
    const row = await measure(n);
    if (row.skipped) skipped.push(row.skipped);
    else rows.push(row);
  }
const base = rows[0]?.us_per_curve;
for (const row of rows) row.per_curve_ratio = base ? Math.round((row.us_per_curve / base) * 100) / 100 : null;
const out = JSON.stringify({ rows, skipped }, null, 2);
if (opts.json) writeFileSync(opts.json, out);
console.log(out);

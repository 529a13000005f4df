import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { backendProblem } from '../../src/backend/probe.js';
import { REPO } from '../helpers/project.js';

// Runs the real benchmark at its --quick size (tiny data, short epochs): checks the shape of
// what it reports, never how fast anything is.
const dir = mkdtempSync(join(tmpdir(), 'paramflow-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Gflops {
  threads_1: number;
  threads_2: number;
}

interface Sgemm {
  n: number;
  shapes: { label: string; own: number | null; openblas: number | null; ratio: number | null }[];
  square: { own: Gflops | null; openblas: Gflops | null; numpy: Gflops | null };
}

interface Row {
  backend: string;
  model: string;
  batch: number;
  samples_per_s: number;
  pytorch_samples_per_s: number | null;
  ratio: number | null;
  cores: number;
  matmul_fix: boolean | null;
  samples_timed: number;
  trainer: string;
}

describe('npm run bench -- --quick', () => {
  it('writes one JSON row per backend, model, batch and core count', { timeout: 180_000 }, async () => {
    expect(existsSync(join(REPO, 'dist', 'src', 'backend', 'load.js')), 'run `npm run build` first').toBe(true);
    const file = join(dir, 'bench.json');
    const backends = backendProblem('native') === undefined ? ['native', 'wasm'] : ['cpu', 'wasm'];
    const r = await execa(
      process.execPath,
      ['bench/run.mjs', '--quick', '--no-tracking', '--no-sweep', '--backends', backends.join(','), '--json', file],
      { cwd: REPO, reject: false, timeout: 170_000 },
    );
    expect(r.exitCode, r.stderr).toBe(0);

    const report = JSON.parse(readFileSync(file, 'utf8')) as {
      training: Row[];
      sgemm: Sgemm | null;
      pipeline: Record<string, unknown> | null;
      sweep: unknown;
      load_before: number;
    };
    const rows = report.training;
    const keys = rows.map((row) => `${row.backend} ${row.model} ${row.batch} ${row.cores}`).sort();
    const expected = backends.flatMap((b) =>
      ['M1', 'M2'].flatMap((m) => [32, 256].flatMap((batch) => [1, 2].map((c) => `${b} ${m} ${batch} ${c}`))),
    );
    expect(keys).toEqual(expected.sort());

    for (const row of rows) {
      expect(Object.keys(row)).toEqual(
        expect.arrayContaining([
          'backend',
          'model',
          'batch',
          'samples_per_s',
          'pytorch_samples_per_s',
          'ratio',
          'cores',
        ]),
      );
      expect(row.samples_per_s).toBeGreaterThan(0);
      expect(row.samples_timed).toBeGreaterThan(0);
      expect(row.matmul_fix).toBe(row.backend === 'wasm' ? true : null);
      // Each backend trains the way paramflow does: native through the fused trainer.
      expect(row.trainer).toBe(row.backend === 'native' ? 'fused' : 'tfjs');
      if (row.pytorch_samples_per_s === null) {
        expect(row.ratio).toBeNull();
      } else {
        expect(row.pytorch_samples_per_s).toBeGreaterThan(0);
        expect(row.ratio).toBeCloseTo(row.samples_per_s / row.pytorch_samples_per_s, 2);
      }
    }

    // The other figures of the same run, each named.
    expect(report.sweep).toBeNull(); // --no-sweep
    expect(report.load_before).toBeGreaterThanOrEqual(0);
    expect(report.sgemm).not.toBeNull();
    // paramflow's own GEMM is measured wherever the installed addon has it (not an opt-in OpenBLAS build).
    const gemm = backends.includes('native')
      ? (JSON.parse(readFileSync(join(REPO, 'build', 'native.json'), 'utf8')) as { gemm?: string }).gemm
      : undefined;
    if (gemm === 'own') {
      expect(report.sgemm!.square.own!.threads_1).toBeGreaterThan(0);
      for (const shape of report.sgemm!.shapes) expect(shape.own, shape.label).toBeGreaterThan(0);
    } else {
      expect(report.sgemm!.square.own).toBeNull();
    }
    expect(report.pipeline).toMatchObject({ pipeline: 'quick.yaml', simulate_noise_size: '1000 × 200' });
    for (const k of ['cold_s', 'simulate_noise_ms', 'cached_noop_ms', 'node_start_ms', 'noop_over_node_start'])
      expect(report.pipeline![k]).toBeGreaterThan(0);

    expect(r.stdout).toMatch(
      /^\| backend +\| model +\| +batch \| +cores \| +paramflow samples\/s \| +PyTorch samples\/s \| +ratio \|/,
    );
    if (rows.every((row) => row.pytorch_samples_per_s === null)) {
      expect(r.stdout).toContain('apt-get install python3-torch python3-numpy libopenblas0-pthread');
    }
  });

  it(
    'the scaling row: time per curve and peak private memory of the seed study at each size',
    { timeout: 120_000 },
    async () => {
      const r = await execa(process.execPath, ['bench/scaling.mjs', '--sizes', '300,600', '--epochs', '1'], {
        cwd: REPO,
        reject: false,
      });
      expect(r.exitCode, r.stderr).toBe(0);
      const { rows, skipped } = JSON.parse(r.stdout) as {
        rows: {
          n: number;
          us_per_curve: number;
          per_curve_ratio: number;
          peak_rss_anon_mb: number | null;
          cv_rmse_mean: number;
        }[];
        skipped: string[];
      };
      if (existsSync('/proc/self/status')) {
        expect(skipped).toEqual([]);
        expect(rows.map((row) => row.n)).toEqual([300, 600]);
        for (const row of rows) {
          expect(row.peak_rss_anon_mb).toBeGreaterThan(20);
          expect(row.cv_rmse_mean).toBeGreaterThan(0);
        }
        expect(rows[1]!.per_curve_ratio).toBeCloseTo(rows[1]!.us_per_curve / rows[0]!.us_per_curve, 1);
      } else {
        expect(skipped[0]).toMatch(/no \/proc/);
      }
    },
  );
});

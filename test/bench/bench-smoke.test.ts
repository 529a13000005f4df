import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { REPO } from '../helpers/project.js';

// Runs the real benchmark at its --quick size (tiny data, short epochs): checks the shape of
// what it reports, never how fast anything is.
const dir = mkdtempSync(join(tmpdir(), 'paramflow-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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
}

describe('npm run bench -- --quick', () => {
  it('writes one JSON row per backend, model, batch and core count', { timeout: 180_000 }, async () => {
    expect(existsSync(join(REPO, 'dist', 'src', 'backend', 'load.js')), 'run `npm run build` first').toBe(true);
    const file = join(dir, 'bench.json');
    const r = await execa(process.execPath, ['bench/run.mjs', '--quick', '--no-tracking', '--no-sweep', '--backends', 'cpu,wasm', '--json', file], { cwd: REPO, reject: false, timeout: 170_000 });
    expect(r.exitCode, r.stderr).toBe(0);

    const rows = JSON.parse(readFileSync(file, 'utf8')) as Row[];
    const keys = rows.map((row) => `${row.backend} ${row.model} ${row.batch} ${row.cores}`).sort();
    const expected = ['cpu', 'wasm'].flatMap((b) => ['M1', 'M2'].flatMap((m) => [32, 256].flatMap((batch) => [1, 2].map((c) => `${b} ${m} ${batch} ${c}`))));
    expect(keys).toEqual(expected.sort());

    for (const row of rows) {
      expect(Object.keys(row)).toEqual(expect.arrayContaining(['backend', 'model', 'batch', 'samples_per_s', 'pytorch_samples_per_s', 'ratio', 'cores']));
      expect(row.samples_per_s).toBeGreaterThan(0);
      expect(row.samples_timed).toBeGreaterThan(0);
      expect(row.matmul_fix).toBe(row.backend === 'wasm' ? true : null);
      if (row.pytorch_samples_per_s === null) {
        expect(row.ratio).toBeNull();
      } else {
        expect(row.pytorch_samples_per_s).toBeGreaterThan(0);
        expect(row.ratio).toBeCloseTo(row.samples_per_s / row.pytorch_samples_per_s, 2);
      }
    }

    expect(r.stdout).toMatch(/^\| backend +\| model +\| batch \| cores \| paramflow samples\/s \| PyTorch samples\/s \| ratio \|/);
    if (rows.every((row) => row.pytorch_samples_per_s === null)) {
      expect(r.stdout).toContain('apt-get install python3-torch python3-numpy libopenblas0-pthread');
    }
  });
});

import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy, decodeNpy } from '../../src/format/npy.js';
import { ndarray } from '../../src/stage-contract/ndarray.js';
import { makeProject, paramflow, REPO, runJson } from '../helpers/project.js';
import { readFileSync } from 'node:fs';

// quick.yaml's model: y = A·exp(-B·x) + C on x ∈ [0, 10].
const curve = (x: number[], A: number, B: number, C: number) => x.map((v) => A * Math.exp(-B * v) + C);
const grid = (from: number, to: number, n: number) =>
  Array.from({ length: n }, (_, i) => from + ((to - from) * i) / (n - 1));
const TRUE = [
  [1.2, 0.3, 0.1],
  [0.8, 0.7, -0.2],
];

let dir: string;
let runId: string;
beforeAll(async () => {
  dir = makeProject();
  copyFileSync(join(REPO, 'pipelines', 'quick.yaml'), join(dir, 'pipeline.yaml'));
  runId = (await runJson(dir)).runId;
}, 120_000);

describe('paramflow predict', () => {
  it('predicts new curves given as CSV on another grid (interpolated), with a spread across folds', async () => {
    const x = grid(0, 10, 301);
    const ys = TRUE.map(([A, B, C]) => curve(x, A!, B!, C!));
    const rows = x.map((v, i) => [v, ...ys.map((y) => y[i])].join(','));
    writeFileSync(join(dir, 'new.csv'), ['x,y1,y2', ...rows].join('\n'));
    const r = await paramflow(dir, ['predict', runId.slice(0, 20), 'new.csv']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const [header, ...lines] = String(r.stdout).trim().split('\n');
    expect(header).toBe('curve,A,A_std,B,B_std,C,C_std');
    lines.forEach((line, i) => {
      const v = line.split(',').map(Number);
      for (let t = 0; t < 3; t++) {
        expect(Math.abs(v[1 + 2 * t]! - TRUE[i]![t]!), `curve ${i} target ${t}`).toBeLessThan(0.2);
        expect(v[2 + 2 * t]!).toBeGreaterThanOrEqual(0);
      }
    });
  });

  it('reads .npy curves and writes .npy means and spreads', async () => {
    const x = grid(0, 10, 200);
    const data = new Float32Array(TRUE.length * 2 * 200);
    TRUE.forEach(([A, B, C], i) => {
      data.set(x, i * 400);
      data.set(curve(x, A!, B!, C!), i * 400 + 200);
    });
    writeFileSync(join(dir, 'new.npy'), encodeNpy(ndarray('float32', [2, 2, 200], data)));
    const r = await paramflow(dir, ['predict', runId, 'new.npy', '--out', 'pred.npy']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const mean = decodeNpy(readFileSync(join(dir, 'pred.npy')));
    const std = decodeNpy(readFileSync(join(dir, 'pred.std.npy')));
    expect(mean.shape).toEqual([2, 3]);
    expect(std.shape).toEqual([2, 3]);
    expect(Math.abs(mean.data[0]! - 1.2)).toBeLessThan(0.2);
  });

  it('refuses curves that would need extrapolation, saying why (exit 2)', async () => {
    const x = grid(0, 8, 100);
    writeFileSync(join(dir, 'short.csv'), ['x,y', ...x.map((v, i) => `${v},${curve(x, 1, 0.5, 0)[i]}`)].join('\n'));
    const r = await paramflow(dir, ['predict', runId, 'short.csv']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(
      /curve 0 covers x ∈ \[0, 8\], but the model was trained on x ∈ \[-?0\.0*\d*, (9\.9999\d+|10)\]/,
    );
    expect(r.stderr).toMatch(/hint: predicting outside the measured range would extrapolate/);
  });
});

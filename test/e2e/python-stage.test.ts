import { execaSync } from 'execa';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeProject, paramflow, REPO, runJson, runRecord } from '../helpers/project.js';

// The example runs where the chosen interpreter imports numpy; elsewhere it is skipped, saying why.
const PYTHON = process.env.PARAMFLOW_PYTHON || 'python3';
const numpyProblem = (() => {
  const r = execaSync(PYTHON, ['-c', 'import numpy'], { reject: false });
  return r.exitCode === 0
    ? undefined
    : `${PYTHON} cannot import numpy (${r.failed && r.exitCode === undefined ? 'not found' : String(r.stderr).trim().split('\n').pop()})`;
})();

function exampleProject(): string {
  const dir = makeProject();
  copyFileSync(join(REPO, 'pipelines', 'python-stage.yaml'), join(dir, 'pipeline.yaml'));
  mkdirSync(join(dir, 'scripts'));
  copyFileSync(join(REPO, 'pipelines', 'scripts', 'smooth.py'), join(dir, 'scripts', 'smooth.py'));
  return dir;
}

const FAST = ['--set', 'simulate.n=200', '--set', 'train.epochs=3'];

describe('pipelines/python-stage.yaml', () => {
  it('validates without running Python', async () => {
    const r = await paramflow(exampleProject(), ['validate', 'pipeline.yaml'], { env: { PATH: '/nonexistent' } });
    expect(r.exitCode, String(r.stderr)).toBe(0);
  });

  it.skipIf(numpyProblem !== undefined)(
    `runs the numpy smoothing step between add-noise and train${numpyProblem ? ` — skipped: ${numpyProblem}` : ''}`,
    async () => {
      const dir = exampleProject();
      const first = await runJson(dir, FAST);
      expect(first.executed.sort()).toEqual(['evaluate', 'folds', 'noise', 'simulate', 'smooth', 'train']);
      const rec = await runRecord(dir, first.runId);
      expect(rec.stages.smooth!.metrics!.smooth_removed_rms).toBeGreaterThan(0);
      expect(Number.isFinite(rec.metrics.cv_rmse_mean)).toBe(true);
      expect(Object.keys(rec.stages.smooth!.details.files)).toEqual(['scripts/smooth.py']);

      expect((await runJson(dir, FAST)).executed).toEqual([]);
      writeFileSync(
        join(dir, 'scripts', 'smooth.py'),
        `# edited\n${await import('node:fs').then((fs) => fs.readFileSync(join(dir, 'scripts', 'smooth.py'), 'utf8'))}`,
      );
      expect((await runJson(dir, FAST)).executed.sort()).toEqual(['evaluate', 'folds', 'smooth', 'train']);
    },
  );
});

import { execa } from 'execa';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/project.js';

describe('npm pack + npm install -g', () => {
  it('gives a `paramflow` that works in any folder', async () => {
    const out = mkdtempSync(join(tmpdir(), 'pf-pack-'));
    // dist/ is already built by `npm test`'s pretest; rebuilding here would race other tests.
    await execa('npm', ['pack', '--ignore-scripts', '--pack-destination', out], { cwd: REPO });
    const tarball = readdirSync(out).find((f) => f.endsWith('.tgz'))!;
    const prefix = join(out, 'global');
    await execa('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', join(out, tarball)]);

    const project = mkdtempSync(join(tmpdir(), 'pf-anywhere-'));
    const bin = join(prefix, 'bin', 'paramflow');
    expect((await execa(bin, ['init'], { cwd: project })).exitCode).toBe(0);
    const run = await execa(
      bin,
      ['run', 'pipelines/example.yaml', '--set', 'simulate.n=50', '--set', 'simulate.x.points=20'],
      { cwd: project },
    );
    // init's example is the quick study, whole: its first run ends with the objective.
    expect(run.stderr).toMatch(/finished: 5 stages executed/);
    expect(run.stderr).toMatch(/cv_rmse_mean \d/);
    const again = await execa(
      bin,
      ['run', 'pipelines/example.yaml', '--set', 'simulate.n=50', '--set', 'simulate.x.points=20'],
      { cwd: project },
    );
    expect(again.stderr).toMatch(/0 stages executed, 5 cached/);
  }, 180_000);
});

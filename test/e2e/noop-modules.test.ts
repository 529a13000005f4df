import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { CLI, makeProject, REPO, runJson, TRAINED_PIPELINE } from '../helpers/project.js';

// A cached no-op run decides "everything cached" from the pipeline, the stage keys and
// the cache's markers: it must not pay for loading what only executing stages, sweeps,
// terminals or compiling schemas need (issue 9: no-op rerun ≤ 4× a bare Node start).
const NOT_ON_A_NOOP = [
  '@tensorflow/',
  '/node_modules/execa/',
  '/node_modules/ajv/dist/ajv.js',
  '/node_modules/cli-progress/',
  '/node_modules/csv-parse/',
  '/node_modules/undici/',
  '/node_modules/@aws-sdk/',
  '/node_modules/bullmq/',
  '/node_modules/@resvg/',
  '/stages/train/run.js',
  '/stages/evaluate/run.js',
  '/src/sweep/run-sweep.js',
  '/src/project/lock.js',
  '/src/cache/checkpoints.js',
  '/src/backend/load.js',
  '/src/cache/remote/remote.js',
];

describe('a cached no-op run', () => {
  it('loads none of the modules that only executing stages, sweeps or terminals need', async () => {
    const dir = makeProject(TRAINED_PIPELINE);
    expect((await runJson(dir)).executed).toContain('train');
    const log = join(dir, 'modules.log');
    const noop = await execa(
      process.execPath,
      ['--import', join(REPO, 'test', 'helpers', 'log-modules.mjs'), CLI, 'run', 'pipeline.yaml', '--json'],
      {
        cwd: dir,
        reject: false,
        env: { PF_MODULE_LOG: log },
      },
    );
    expect(noop.exitCode).toBe(0);
    expect(JSON.parse(String(noop.stdout)).executed).toEqual([]);
    const loaded = readFileSync(log, 'utf8').split('\n');
    expect(loaded.some((m) => m.endsWith('/dist/stages/index.js'))).toBe(true); // the log sees the run's modules
    expect(NOT_ON_A_NOOP.filter((m) => loaded.some((l) => l.includes(m)))).toEqual([]);
  });
});

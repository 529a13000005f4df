import { execa, type Options } from 'execa';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RunRecord } from '../../src/tracking/run-record.js';

export const REPO = resolve(import.meta.dirname, '..', '..');
export const CLI = join(REPO, 'dist', 'src', 'cli', 'main.js');

/** A small, fast version of the data study (same stages, tiny arrays). */
export const SMALL_PIPELINE = `name: small
seed: 3
stages:
  simulate:
    uses: simulate
    with:
      n: 64
      model: damped-sine
      x: { start: 0, stop: 10, points: 50, jitter: 0.01 }
      params:
        A: { uniform: [0.5, 2.0] }
        B: { loguniform: [0.01, 1.0] }
        C: { uniform: [1, 5] }
        D: { uniform: [0, 3.14159] }
  noise:
    uses: add-noise
    needs: [simulate]
    with: { gaussian: { relative: 0.05 } }
  folds:
    uses: split-folds
    needs: [noise]
    with: { k: 4 }
`;

/** SMALL_PIPELINE with a tiny model trained and evaluated (no plots): metrics, a backend and a model in seconds. */
export const TRAINED_PIPELINE = `${SMALL_PIPELINE}  train:
    uses: train
    needs: [noise, folds]
    with:
      layers:
        - dense: { units: 8, activation: relu }
        - dense: { units: 4 }
      batch_size: 16
      epochs: 2
  evaluate:
    uses: evaluate
    needs: [train, noise, folds]
    with: { plots: false }
`;

/** A temp project (with `.paramflow/`) holding `pipeline.yaml`. */
export function makeProject(pipeline = SMALL_PIPELINE): string {
  const dir = mkdtempSync(join(tmpdir(), 'pf-e2e-'));
  mkdirSync(join(dir, '.paramflow'));
  writeFileSync(join(dir, 'pipeline.yaml'), pipeline);
  return dir;
}

/** A temp project holding the shipped quick.yaml as `pipeline.yaml`. */
export function quickProject(): string {
  const dir = makeProject();
  copyFileSync(join(REPO, 'pipelines', 'quick.yaml'), join(dir, 'pipeline.yaml'));
  return dir;
}

/** What is left in a project's checkpoints folder (none: the folder may not even exist). */
export function leftCheckpoints(dir: string): string[] {
  const at = join(dir, '.paramflow', 'checkpoints');
  return existsSync(at) ? readdirSync(at) : [];
}

/** Runs the compiled CLI in `cwd`; never throws on a non-zero exit. */
export function paramflow(cwd: string, args: string[], options: Options = {}) {
  return execa(process.execPath, [CLI, ...args], {
    cwd,
    reject: false,
    ...options,
    env: { ...process.env, ...(options.env ?? {}) },
  });
}

export async function runRecord(cwd: string, runId: string): Promise<RunRecord> {
  return JSON.parse(await readFile(join(cwd, '.paramflow', 'runs', runId, 'run.json'), 'utf8')) as RunRecord;
}

/** `paramflow run --json` → its summary. */
export async function runJson(cwd: string, args: string[] = [], env: Record<string, string> = {}) {
  const r = await paramflow(cwd, ['run', 'pipeline.yaml', '--json', ...args], { env });
  if (r.exitCode !== 0) throw new Error(`paramflow run failed (${r.exitCode}):\n${r.stderr}`);
  return JSON.parse(String(r.stdout)) as {
    runId: string;
    runHash: string;
    status: string;
    executed: string[];
    cached: string[];
  };
}

import { join } from 'node:path';

// Where everything lives under a project's `.paramflow/`.
export class Layout {
  constructor(readonly root: string) {}

  get home(): string {
    return join(this.root, '.paramflow');
  }
  get cacheDir(): string {
    return join(this.home, 'cache');
  }
  get tmpDir(): string {
    return join(this.cacheDir, '.tmp');
  }
  get locksDir(): string {
    return join(this.home, 'locks');
  }
  get checkpointsDir(): string {
    return join(this.home, 'checkpoints');
  }
  checkpoint(key: string): string {
    return join(this.checkpointsDir, key);
  }
  /** Recorded stage module contracts, by file content (see stage/module-contract.ts). */
  get modulesDir(): string {
    return join(this.home, 'modules');
  }
  get runsDir(): string {
    return join(this.home, 'runs');
  }
  entry(key: string): string {
    return join(this.cacheDir, key);
  }
  lock(key: string): string {
    return join(this.locksDir, `${key}.lock`);
  }
  run(runId: string): string {
    return join(this.runsDir, runId);
  }
  /** Sweeps' records (`sweep.json`) and their MLflow spools, one folder per sweep. */
  get sweepsDir(): string {
    return join(this.home, 'sweeps');
  }
  sweep(sweepId: string): string {
    return join(this.sweepsDir, sweepId);
  }
  /** HTML reports written by `paramflow report` without `--out`. */
  report(id: string): string {
    return join(this.home, 'reports', `${id}.html`);
  }
  /** Scratch projects (`repro`'s throwaway cache), removed after use. */
  get scratchDir(): string {
    return join(this.home, 'tmp');
  }
  /** One Slurm submission's script, task folders and logs. */
  slurmSubmission(name: string): string {
    return join(this.home, 'slurm', name);
  }
}

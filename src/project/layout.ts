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
}

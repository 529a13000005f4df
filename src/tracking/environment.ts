import { execa } from 'execa';
import { packageVersion } from '../util/package-root.js';
import type { Environment } from './run-record.js';

export async function gitState(cwd: string): Promise<Environment['git']> {
  try {
    const commit = await execa('git', ['rev-parse', 'HEAD'], { cwd, timeout: 5000 });
    const status = await execa('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, timeout: 5000 });
    return { commit: commit.stdout.trim(), dirty: status.stdout.trim() !== '' };
  } catch {
    return null; // not a git work tree, no commit yet, or git missing
  }
}

export async function captureEnvironment(root: string): Promise<Environment> {
  return {
    paramflow: packageVersion(),
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    git: await gitState(root),
  };
}

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { packageVersion } from '../util/package-root.js';
import { redactSecrets } from '../util/redact.js';
import type { Environment } from './run-record.js';

// node:child_process, not execa: this runs on every `paramflow run`, and a cached no-op
// should not pay execa's ~100 ms of module loading for two short `git` calls.
const run = promisify(execFile);

export async function gitState(cwd: string): Promise<Environment['git']> {
  if (!repositoryAbove(cwd)) return null; // spares two process starts where git would only fail
  try {
    // All at once: each is a process start (~15 ms), and none needs another.
    const optional = (args: string[]) =>
      run('git', args, { cwd, timeout: 5000 }).then(
        (r) => r.stdout.trim() || undefined,
        () => undefined,
      );
    const [commit, status, branch, remote] = await Promise.all([
      run('git', ['rev-parse', 'HEAD'], { cwd, timeout: 5000 }),
      run('git', ['status', '--porcelain', '--untracked-files=no'], {
        cwd,
        timeout: 5000,
        maxBuffer: 64 * 1024 * 1024,
      }),
      optional(['symbolic-ref', '--short', '-q', 'HEAD']), // none on a detached HEAD
      optional(['remote', 'get-url', 'origin']),
    ]);
    return {
      commit: commit.stdout.trim(),
      dirty: status.stdout.trim() !== '',
      ...(branch ? { branch } : {}),
      // A remote's URL may carry a token (https://user:token@host/…): never recorded.
      ...(remote ? { remote: redactSecrets(remote) } : {}),
    };
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

/** Whether git can find a repository from `cwd`: a `.git` (folder, or a worktree's file) there or above, or GIT_DIR. */
function repositoryAbove(cwd: string): boolean {
  if (process.env.GIT_DIR) return true;
  for (let d = resolve(cwd); ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return true;
    if (dirname(d) === d) return false;
  }
}

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
    // Two processes at once (each start costs ~15 ms of a cached no-op run): the commit, the
    // branch and whether tracked files changed from one `git status`, and origin's URL.
    const [status, remote] = await Promise.all([
      run('git', ['status', '--porcelain=v2', '--branch', '--untracked-files=no'], {
        cwd,
        timeout: 5000,
        maxBuffer: 64 * 1024 * 1024,
      }),
      run('git', ['config', '--get', 'remote.origin.url'], { cwd, timeout: 5000 }).then(
        (r) => r.stdout.trim() || undefined,
        () => undefined, // no origin
      ),
    ]);
    const lines = status.stdout.split('\n');
    const header = (name: string) =>
      lines.find((l) => l.startsWith(`# branch.${name} `))?.slice(`# branch.${name} `.length);
    const commit = header('oid');
    if (!commit || !/^[0-9a-f]{40,64}$/.test(commit)) return null; // no commit yet
    const branch = header('head');
    return {
      commit,
      dirty: lines.some((l) => l !== '' && !l.startsWith('#')),
      ...(branch && branch !== '(detached)' ? { branch } : {}),
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

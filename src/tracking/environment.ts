import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { packageVersion } from '../util/package-root.js';
import { redactSecrets } from '../util/redact.js';
import type { Environment } from './run-record.js';

// node:child_process, not execa: this runs on every `paramflow run`, and a cached no-op
// should not pay execa's ~100 ms of module loading for two short `git` calls.
const run = promisify(execFile);

export async function gitState(cwd: string): Promise<Environment['git']> {
  const repo = repositoryAbove(cwd);
  if (!repo) return null; // spares the process starts where git would only fail
  try {
    // One process where it can be (each start costs ~10–15 ms of a cached no-op run): the
    // commit, the branch and whether tracked files changed from one `git status`; origin's URL
    // from the repository's config file when it is a plain `.git` folder, else from git.
    const [status, remote] = await Promise.all([
      run('git', ['status', '--porcelain=v2', '--branch', '--untracked-files=no'], {
        cwd,
        timeout: 5000,
        maxBuffer: 64 * 1024 * 1024,
      }),
      originUrl(cwd, repo),
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

/**
 * Where git finds a repository from `cwd`: the `.git` (folder, or a worktree's file) there or
 * above; `true` for GIT_DIR; undefined for none.
 */
function repositoryAbove(cwd: string): string | true | undefined {
  if (process.env.GIT_DIR) return true;
  for (let d = resolve(cwd); ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return join(d, '.git');
    if (dirname(d) === d) return undefined;
  }
}

/**
 * origin's URL: read from `.git/config` when `.git` is a folder whose config has no include
 * (git's own answer otherwise: worktrees, GIT_DIR, includes, system and global settings).
 */
async function originUrl(cwd: string, repo: string | true): Promise<string | undefined> {
  if (repo !== true && !process.env.GIT_CONFIG_GLOBAL && !process.env.GIT_CONFIG_SYSTEM) {
    const config = await readFile(join(repo, 'config'), 'utf8').catch(() => undefined);
    if (config !== undefined && !/^\s*\[include/im.test(config)) return configValue(config, 'remote "origin"', 'url');
  }
  return run('git', ['config', '--get', 'remote.origin.url'], { cwd, timeout: 5000 }).then(
    (r) => r.stdout.trim() || undefined,
    () => undefined, // no origin
  );
}

/** A key's value in an INI-style git config section (the last one wins, as in git). */
export function configValue(config: string, section: string, key: string): string | undefined {
  let inSection = false;
  let value: string | undefined;
  for (const raw of config.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('[')) {
      inSection = line.replace(/\s+/g, ' ').toLowerCase() === `[${section.toLowerCase()}]`;
      continue;
    }
    if (!inSection) continue;
    const m = /^([A-Za-z][\w-]*)\s*=\s*(.*)$/.exec(line);
    if (m && m[1]!.toLowerCase() === key) value = m[2]!.replace(/^"(.*)"$/, '$1').trim();
  }
  return value || undefined;
}

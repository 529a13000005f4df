import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

import { CLI as cliPath, REPO as repoRoot } from './project.js';

export { cliPath, repoRoot };

export interface CliResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

// MLFLOW_* from the developer's shell would change the resolved pipeline; tests run without them.
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MLFLOW_')));

/** Runs `paramflow <args…>` in `cwd` as a user would, never throwing on a non-zero exit. */
export async function runCli(args: readonly string[], cwd: string): Promise<CliResult> {
  const r = await execa(process.execPath, [cliPath, ...args], {
    cwd,
    reject: false,
    env: cleanEnv,
    extendEnv: false,
    timeout: 30_000,
  });
  return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

/** A Node stack frame line, as an uncaught exception would print it. */
export const STACK_FRAME = '    at ';

/** At most `n` calls of the returned wrapper run at once; the rest wait their turn. */
export function limitConcurrency(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    while (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

export interface TreeSnapshot {
  /** Every folder, relative to the root, sorted. */
  dirs: string[];
  /** Every file, relative to the root → SHA-256 of its bytes. */
  files: Record<string, string>;
}

/** Contents of a folder tree, for "nothing was touched" checks (empty folders count too). */
export async function snapshotTree(root: string): Promise<TreeSnapshot> {
  const dirs: string[] = [];
  const files: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const abs = join(dir, e.name);
      const rel = relative(root, abs);
      if (e.isDirectory()) {
        dirs.push(rel);
        await walk(abs);
      } else {
        files[rel] = createHash('sha256')
          .update(await readFile(abs))
          .digest('hex');
      }
    }
  };
  await walk(root);
  dirs.sort();
  return { dirs, files: Object.fromEntries(Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) };
}

/** One printed error: its `file:line:col: error PF_X: message` line and its hint (if any). */
export interface PrintedError {
  head: string;
  hint?: string;
}

/** Splits stderr into the errors the CLI printed (see formatError in src/util/errors.ts). */
export function printedErrors(stderr: string): PrintedError[] {
  const out: PrintedError[] = [];
  for (const line of stderr.split('\n')) {
    const last = out[out.length - 1];
    if (line.startsWith('  hint: ') && last && last.hint === undefined) last.hint = line.slice('  hint: '.length);
    else if (/error PF_[A-Z_]+: /.test(line)) out.push({ head: line });
  }
  return out;
}

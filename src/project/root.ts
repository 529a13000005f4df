import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { ParamflowError, type SourceLocation } from '../util/errors.js';

/** The nearest ancestor of `dir` holding `.paramflow/` or `.git`, else `dir` itself (docs/conventions.md, Paths). */
export function findProjectRoot(dir: string): string {
  let d = resolve(dir);
  for (;;) {
    if (existsSync(join(d, '.paramflow')) || existsSync(join(d, '.git'))) return d;
    const up = dirname(d);
    if (up === d) return resolve(dir);
    d = up;
  }
}

export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** Resolves a path written in the pipeline against its folder; refuses one that leaves the project. */
export function resolveProjectPath(root: string, baseDir: string, written: string, location: SourceLocation): string {
  const abs = resolve(baseDir, written);
  if (!isInside(root, abs)) {
    throw new ParamflowError(
      'PF_PATH_ESCAPE',
      `path ${JSON.stringify(written)} resolves to ${abs}, outside the project ${root}`,
      {
        location,
        hint: 'keep inputs and outputs inside the project folder (the folder holding .paramflow/ or .git); copy or link the file into it',
      },
    );
  }
  return abs;
}

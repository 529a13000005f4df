import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../../util/package-root.js';

let source: Promise<string> | undefined;

/** paramflow's pyfunc loader (python/paramflow_pyfunc.py), logged with each model as its code. */
export function loaderSource(): Promise<string> {
  source ??= readFile(join(packageRoot(), 'python', 'paramflow_pyfunc.py'), 'utf8');
  return source;
}

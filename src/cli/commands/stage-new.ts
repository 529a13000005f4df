import type { StageNewFlags } from '../command-options.js';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, relative, resolve, sep } from 'node:path';
import { packageRoot } from '../../util/package-root.js';
import { EXIT, ParamflowError } from '../../util/errors.js';
import { stageModule, stageTest } from '../scaffold/stage-files.js';

/** Writes `<dir>/<name>.ts` (a working stage module) and `<dir>/<name>.test.ts`. */
export async function stageNewCommand(name: string, flags: StageNewFlags): Promise<number> {
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(name)) {
    throw new ParamflowError('PF_BAD_FLAG', `stage name ${JSON.stringify(name)} is not kebab-case`, {
      location: { file: '<command line>' },
      hint: 'use lower-case letters, digits and dashes, starting with a letter: e.g. `paramflow stage new smooth-y`',
    });
  }
  const dir = resolve(flags.dir ?? 'stages');
  // `uses:` is relative to the pipeline file: from `pipelines/` where the project has one (init makes it).
  const cwd = process.cwd();
  const pipelines = existsSync(join(cwd, 'pipelines')) ? join(cwd, 'pipelines') : cwd;
  const fromPipelines = relative(pipelines, join(dir, `${name}.ts`))
    .split(sep)
    .join('/');
  const uses = fromPipelines.startsWith('.') ? fromPipelines : `./${fromPipelines}`;
  const files = {
    [join(dir, `${name}.ts`)]: stageModule(name, uses),
    [join(dir, `${name}.test.ts`)]: stageTest(name),
  };
  const existing = Object.keys(files).filter((f) => existsSync(f));
  if (existing.length > 0 && !flags.force) {
    throw new ParamflowError(
      'PF_BAD_FLAG',
      `${existing.map((f) => relative(process.cwd(), f)).join(' and ')} already exist${existing.length === 1 ? 's' : ''}`,
      {
        location: { file: '<command line>' },
        hint: 'choose another name, or --force to overwrite',
      },
    );
  }
  await mkdir(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) {
    await writeFile(file, text);
    process.stdout.write(`wrote ${relative(process.cwd(), file)}\n`);
  }
  const rel = relative(cwd, join(dir, name));
  const where = relative(cwd, pipelines) || '.';
  // The module imports `paramflow` and its test runs with tsx: installed here unless they resolve
  // already (paramflow from its folder: it is not on the npm registry).
  const missing = [...(resolves(dir, 'paramflow') ? [] : [packageRoot()]), ...(resolves(dir, 'tsx') ? [] : ['tsx'])];
  process.stdout.write(
    [
      ...(missing.length > 0 ? [`first, in this project:  npm install --save-dev ${missing.join(' ')}`] : []),
      `use it in a pipeline in ${where}/:  uses: ${uses}`,
      `test it:  npx tsx --test ${rel}.test.ts`,
      '',
    ].join('\n'),
  );
  return EXIT.ok;
}

/** Whether a module in `dir` can import `name` (installed in the project; paramflow also inside its own folder). */
function resolves(dir: string, name: string): boolean {
  try {
    createRequire(join(dir, 'x.js')).resolve(name);
    return true;
  } catch {
    return false;
  }
}

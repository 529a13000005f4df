import type { StageNewFlags } from '../command-options.js';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
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
  const files = { [join(dir, `${name}.ts`)]: stageModule(name), [join(dir, `${name}.test.ts`)]: stageTest(name) };
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
  const rel = relative(process.cwd(), join(dir, name));
  process.stdout.write(
    [
      `use it in a pipeline:  uses: ./${rel}.ts   (relative to the pipeline file)`,
      `test it:               npx tsx --test ${rel}.test.ts`,
      'the module imports `paramflow`: install it in the project (npm install --save-dev paramflow)',
      '',
    ].join('\n'),
  );
  return EXIT.ok;
}

import type { ForceFlags } from '../command-options.js';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { Layout } from '../../project/layout.js';
import { EXIT } from '../../util/errors.js';
import { packageRoot } from '../../util/package-root.js';

/** Scaffolds a project: `.paramflow/`, an example pipeline, and .gitignore lines. */
export async function initCommand(dir: string, flags: ForceFlags): Promise<number> {
  const root = resolve(dir);
  const target = join(root, 'pipelines', 'example.yaml');
  await mkdir(new Layout(root).home, { recursive: true });
  await mkdir(dirname(target), { recursive: true });
  if (existsSync(target) && !flags.force) {
    process.stdout.write(`kept existing ${relative(process.cwd(), target) || target} (--force overwrites)\n`);
  } else {
    // The quick study, whole (simulate → noise → folds → train → evaluate): a run ends with a result.
    const example = await readFile(join(packageRoot(), 'pipelines', 'quick.yaml'), 'utf8');
    const schema = relative(dirname(target), join(packageRoot(), 'schemas', 'pipeline.schema.json'));
    await writeFile(target, exampleOf(example, schema));
    process.stdout.write(`wrote ${relative(process.cwd(), target) || target}\n`);
  }
  const gitignore = join(root, '.gitignore');
  const current = existsSync(gitignore) ? await readFile(gitignore, 'utf8') : '';
  if (!current.split('\n').includes('.paramflow/')) {
    await appendFile(
      gitignore,
      `${current && !current.endsWith('\n') ? '\n' : ''}# paramflow cache and local run store\n.paramflow/\n`,
    );
    process.stdout.write('added .paramflow/ to .gitignore\n');
  }
  process.stdout.write(`next: paramflow run ${relative(process.cwd(), target) || target}\n`);
  return EXIT.ok;
}

/** quick.yaml as a project's first pipeline: its own name, a schema line that resolves from there, a header for it. */
function exampleOf(quick: string, schema: string): string {
  const body = quick.split('\n').filter((l) => !l.startsWith('#'));
  return [
    `# yaml-language-server: $schema=${schema}`,
    '# A small study to start from (runs in seconds): 1,000 curves y = A·exp(-B·x) + C, 4-fold',
    '# cross-validated training of a small network that predicts A, B and C from a curve.',
    '# Every key of the file and of each stage: docs/reference.md in paramflow.',
    ...body,
  ]
    .join('\n')
    .replace('name: quick', 'name: example');
}

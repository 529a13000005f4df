import { execa } from 'execa';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { printedErrors } from '../helpers/cli.js';
import { makeProject, paramflow, REPO, runJson, runRecord, SMALL_PIPELINE } from '../helpers/project.js';

/** A project where `import … from 'paramflow'` resolves to this checkout, as after `npm install paramflow`. */
function projectWithParamflow(pipeline?: string): string {
  const dir = makeProject(pipeline);
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(REPO, join(dir, 'node_modules', 'paramflow'));
  return dir;
}

describe('paramflow stage new', () => {
  it('scaffolds a module whose own test passes, which type-checks, and which runs in a pipeline', async () => {
    const pipeline = SMALL_PIPELINE.replace(
      '  folds:\n    uses: split-folds\n    needs: [noise]',
      '  smooth:\n    uses: ./stages/smooth-y.ts\n    needs: [noise]\n    with: { window: 3 }\n  folds:\n    uses: split-folds\n    needs: [smooth]',
    );
    const dir = projectWithParamflow(pipeline);
    const r = await paramflow(dir, ['stage', 'new', 'smooth-y']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout)).toMatch(/wrote stages\/smooth-y\.ts\nwrote stages\/smooth-y\.test\.ts/);

    const tsx = pathToFileURL(join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
    const test = await execa(process.execPath, ['--import', tsx, '--test', 'stages/smooth-y.test.ts'], {
      cwd: dir,
      reject: false,
    });
    expect(test.exitCode, `${test.stdout}\n${test.stderr}`).toBe(0);
    expect(test.stdout).toMatch(/# pass 1/);

    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          strict: true,
          noEmit: true,
          allowImportingTsExtensions: true,
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [join(REPO, 'node_modules', '@types')],
        },
        include: ['stages'],
      }),
    );
    const tsc = await execa(
      process.execPath,
      [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
      { cwd: dir, reject: false },
    );
    expect(tsc.exitCode, String(tsc.stdout)).toBe(0);

    const run = await runJson(dir);
    expect(run.executed.sort()).toEqual(['folds', 'noise', 'simulate', 'smooth']);
    expect((await runRecord(dir, run.runId)).metrics['smooth-y.window']).toBe(3);
  });

  it('in a project `init` made, its hints work as printed: what to install, the `uses:` line, the test command', async () => {
    const dir = makeProject();
    expect((await paramflow(dir, ['init', '.'])).exitCode).toBe(0);
    const first = String((await paramflow(dir, ['stage', 'new', 'smooth-y'])).stdout);
    // paramflow is not on the npm registry: it is installed from its folder, with tsx for the test.
    expect(first).toContain(`first, in this project:  npm install --save-dev ${REPO} tsx`);
    // As `npm install --save-dev <folder> tsx` leaves it (a link to the folder; tsx and its bin).
    mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
    symlinkSync(REPO, join(dir, 'node_modules', 'paramflow'));
    symlinkSync(join(REPO, 'node_modules', 'tsx'), join(dir, 'node_modules', 'tsx'));
    symlinkSync(join(REPO, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(dir, 'node_modules', '.bin', 'tsx'));
    const hints = String((await paramflow(dir, ['stage', 'new', 'smooth-y', '--force'])).stdout);
    expect(hints).not.toContain('npm install');
    const uses = /use it in a pipeline in pipelines\/:  uses: (\S+)/.exec(hints)![1]!;
    const file = join(dir, 'pipelines', 'example.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').trimEnd() +
        `\n  smooth-y:\n    uses: ${uses}\n    needs: [noise]\n    with: { window: 3 }\n`,
    );
    const run = await paramflow(dir, ['run', 'pipelines/example.yaml']);
    expect(run.exitCode, String(run.stderr)).toBe(0);
    expect(String(run.stderr)).toMatch(/✓ smooth-y: done/);
    const testCommand = /test it:  (npx tsx --test \S+)/.exec(hints)![1]!.split(' ');
    const test = await execa(testCommand[0]!, testCommand.slice(1), { cwd: dir, reject: false });
    expect(test.exitCode, `${test.stdout}\n${test.stderr}`).toBe(0);
    expect(test.stdout).toMatch(/# pass 1/);
  });

  it('refuses a name that is not kebab-case, and existing files unless --force', async () => {
    const dir = makeProject();
    const bad = await paramflow(dir, ['stage', 'new', 'My_Stage']);
    expect(bad.exitCode).toBe(2);
    expect(printedErrors(String(bad.stderr))[0]!.head).toMatch(
      /error PF_BAD_FLAG: stage name "My_Stage" is not kebab-case/,
    );

    expect((await paramflow(dir, ['stage', 'new', 'fit', '--dir', 'code'])).exitCode).toBe(0);
    writeFileSync(join(dir, 'code', 'fit.ts'), '// mine\n');
    const again = await paramflow(dir, ['stage', 'new', 'fit', '--dir', 'code']);
    expect(again.exitCode).toBe(2);
    expect(String(again.stderr)).toMatch(/code\/fit\.ts and code\/fit\.test\.ts already exist/);
    expect(readFileSync(join(dir, 'code', 'fit.ts'), 'utf8')).toBe('// mine\n');
    expect((await paramflow(dir, ['stage', 'new', 'fit', '--dir', 'code', '--force'])).exitCode).toBe(0);
    expect(readFileSync(join(dir, 'code', 'fit.ts'), 'utf8')).toMatch(/defineStage/);
  });
});

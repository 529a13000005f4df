import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, snapshotTree, STACK_FRAME, type CliResult, type TreeSnapshot } from '../helpers/cli.js';
import { SMALL_PIPELINE } from '../helpers/project.js';

// The CLI's own flag and argument errors: exit code 2, a message that names the
// offending flag or file, no stack trace, and nothing written to .paramflow/.

interface FlagCase {
  name: string;
  args: string[];
  /** Substrings stderr must contain. */
  says: string[];
  /** Found by the argument parser (commander), reported as PF_BAD_FLAG. */
  commander?: true;
}

const cases: FlagCase[] = [
  {
    name: 'unknown command',
    args: ['frobnicate', 'small.yaml'],
    says: ["unknown command 'frobnicate'"],
    commander: true,
  },
  {
    name: 'mistyped command',
    args: ['rn', 'small.yaml'],
    says: ["unknown command 'rn'", 'hint: did you mean run?'],
    commander: true,
  },
  {
    name: 'unknown option',
    args: ['run', 'small.yaml', '--frobnicate'],
    says: ["unknown option '--frobnicate'"],
    commander: true,
  },
  {
    name: 'mistyped option',
    args: ['run', 'small.yaml', '--jbos', '2'],
    says: ["unknown option '--jbos'", 'hint: did you mean --jobs?'],
    commander: true,
  },
  {
    name: '--jobs abc',
    args: ['run', 'small.yaml', '--jobs', 'abc'],
    says: ["argument 'abc' is invalid", '--jobs must be a whole number'],
    commander: true,
  },
  {
    name: '--set without a value',
    args: ['run', 'small.yaml', '--set'],
    says: ["option '--set <key=value>' argument missing"],
    commander: true,
  },
  { name: 'run without a file', args: ['run'], says: ["missing required argument 'file'"], commander: true },
  {
    name: 'cache gc without --keep',
    args: ['cache', 'gc'],
    says: ["required option '--keep <n>' not specified"],
    commander: true,
  },
  {
    name: 'cache gc --keep -1',
    args: ['cache', 'gc', '--keep', '-1'],
    says: ["argument '-1' is invalid", '--keep must be a whole number'],
    commander: true,
  },
  {
    name: 'run: missing pipeline file',
    args: ['run', 'missing.yaml'],
    says: ['missing.yaml: error PF_FILE_NOT_FOUND: cannot read pipeline file', 'hint: check the path'],
  },
  {
    name: 'validate: missing pipeline file',
    args: ['validate', 'pipelines/missing.yaml'],
    says: ['pipelines/missing.yaml: error PF_FILE_NOT_FOUND: ', 'hint: check the path'],
  },
  {
    name: 'status: missing pipeline file',
    args: ['status', 'missing.yaml'],
    says: ['missing.yaml: error PF_FILE_NOT_FOUND: ', 'hint: check the path'],
  },
];

let project: string;
let before: TreeSnapshot;
const results = new Map<string, Promise<CliResult>>();

/** The CLI's answer to a case, run once even when two tests look at it. */
function resultOf(c: FlagCase): Promise<CliResult> {
  let r = results.get(c.name);
  if (!r) {
    r = runCli(c.args, project);
    results.set(c.name, r);
  }
  return r;
}

// A project with a cache and a recorded run, which no flag error may touch.
beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), 'pf-bad-flags-'));
  await mkdir(join(project, '.paramflow'));
  await writeFile(join(project, 'small.yaml'), SMALL_PIPELINE);
  const r = await runCli(['run', 'small.yaml'], project);
  expect(r.exitCode, String(r.stderr)).toBe(0);
  before = await snapshotTree(join(project, '.paramflow'));
});

afterAll(async () => {
  await rm(project, { recursive: true, force: true });
});

function expectCleanRefusal(r: CliResult): void {
  expect(r.exitCode, String(r.stderr)).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stdout + r.stderr).not.toContain(STACK_FRAME);
  expect(r.stderr).not.toContain('internal error');
}

describe('flag and argument errors', () => {
  // Sequential: each case is one short process, and they share the project.
  it.each(cases)('$name', async (c) => {
    const r = await resultOf(c);
    expectCleanRefusal(r);
    for (const s of c.says) expect(r.stderr).toContain(s);
    expect(await snapshotTree(join(project, '.paramflow'))).toEqual(before);
  });
});

// STYLE (CLI): every error is printed as `error PF_X: message` plus a `hint:` line.
describe('flag errors carry the PF_BAD_FLAG code and a hint', () => {
  it.each(cases.filter((c) => c.commander))('$name', async (c) => {
    const r = await resultOf(c);
    expect(r.stderr).toContain('error PF_BAD_FLAG: ');
    expect(r.stderr).toContain('\n  hint: ');
  });
});

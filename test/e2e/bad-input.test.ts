import { readdirSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  limitConcurrency,
  printedErrors,
  repoRoot,
  runCli,
  snapshotTree,
  STACK_FRAME,
  type CliResult,
  type TreeSnapshot,
} from '../helpers/cli.js';
import { SMALL_PIPELINE } from '../helpers/project.js';

// The bad-input corpus: every `NN-name.yaml` under test/fixtures/bad/ is a malformed
// pipeline (or a valid one with bad `--set` flags) and `NN-name.expect.json` says
// where and how paramflow must refuse it. Adding a pair adds a case.

/** The format of `NN-name.expect.json` (see test/fixtures/bad/README.md). */
interface Expectation {
  code: string;
  /** `<command line>` for errors in the flags; otherwise the pipeline file as passed. */
  file?: string;
  line: number;
  /** For `<command line>`: the column in `paramflow run <file> <args…>`. */
  column: number;
  message: string;
  hint: string;
  args?: string[];
  /**
   * A src/ bug makes this case go wrong today (a crash, a wrong location or hint): the
   * case still checks that .paramflow/ is untouched, and an `it.fails` test holds the rest.
   */
  knownBug?: string;
}

interface Case {
  name: string;
  yaml: string;
  expect: Expectation;
}

const CORPUS = join(repoRoot, 'test/fixtures/bad');
const COMMAND_LINE = '<command line>';

const cases: Case[] = readdirSync(CORPUS)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => {
    const name = f.slice(0, -'.yaml'.length);
    const expectFile = join(CORPUS, `${name}.expect.json`);
    return { name, yaml: join(CORPUS, f), expect: JSON.parse(readFileSync(expectFile, 'utf8')) as Expectation };
  });

interface Outcome {
  /** The pipeline file as passed on the command line. */
  file: string;
  run: CliResult;
  validate: CliResult;
  before: TreeSnapshot;
  after: TreeSnapshot;
}

const limit = limitConcurrency(Math.max(2, availableParallelism()));
const tempDirs: string[] = [];
const outcomes = new Map<string, Promise<Outcome>>();
let template: string;

// A project whose .paramflow/ already holds a cache and a run: bad input must leave it byte for byte.
beforeAll(async () => {
  template = await mkdtemp(join(tmpdir(), 'pf-bad-template-'));
  tempDirs.push(template);
  await mkdir(join(template, '.paramflow'));
  await writeFile(join(template, 'small.yaml'), SMALL_PIPELINE);
  const r = await runCli(['run', 'small.yaml'], template);
  expect(r.exitCode, String(r.stderr)).toBe(0);
});

afterAll(async () => {
  await Promise.all(tempDirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Runs `run` then `validate` on a fresh copy of the template project; once per case. */
function outcomeOf(c: Case): Promise<Outcome> {
  let o = outcomes.get(c.name);
  if (!o) {
    o = (async () => {
      const dir = await mkdtemp(join(tmpdir(), 'pf-bad-case-'));
      tempDirs.push(dir);
      await cp(template, dir, { recursive: true });
      const file = `${c.name}.yaml`;
      await cp(c.yaml, join(dir, file));
      const args = c.expect.args ?? [];
      const before = await snapshotTree(join(dir, '.paramflow'));
      const run = await limit(() => runCli(['run', file, ...args], dir));
      const validate = await limit(() => runCli(['validate', file, ...args], dir));
      const after = await snapshotTree(join(dir, '.paramflow'));
      return { file, run, validate, before, after };
    })();
    outcomes.set(c.name, o);
  }
  return o;
}

/** `file:line:col` as the CLI must print it for `command` (`run` or `validate`). */
function expectedWhere(c: Case, o: Outcome, command: 'run' | 'validate'): string {
  const e = c.expect;
  if (e.file !== COMMAND_LINE) return `${e.file ?? o.file}:${e.line}:${e.column}`;
  // Flag columns count from the start of `paramflow run …`; `validate` is longer than `run`.
  return `${COMMAND_LINE}:${e.line}:${e.column + command.length - 'run'.length}`;
}

function expectRefused(r: CliResult, c: Case): void {
  expect(r.exitCode, String(r.stderr)).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stdout + r.stderr).not.toContain(STACK_FRAME);
  expect(r.stderr).not.toContain('internal error');
  const found = printedErrors(r.stderr).find(
    (e) => e.head.includes(`error ${c.expect.code}: `) && e.head.includes(c.expect.message),
  );
  expect(
    found,
    `no ${c.expect.code} error mentioning ${JSON.stringify(c.expect.message)} in:\n${r.stderr}`,
  ).toBeDefined();
}

function expectLocatedWithHint(r: CliResult, c: Case, where: string): void {
  const head = `${where}: error ${c.expect.code}: `;
  expect(r.stderr).toContain(head);
  const found = printedErrors(r.stderr).find((e) => e.head.startsWith(head) && e.head.includes(c.expect.message));
  expect(found, `no error at ${where} mentioning ${JSON.stringify(c.expect.message)} in:\n${r.stderr}`).toBeDefined();
  expect(found?.hint, `hint of: ${found?.head}`).toContain(c.expect.hint);
}

/** Exit code 2, no stack, and the expected error at the expected place, from `run` and `validate` alike. */
function expectReportedAsExpected(c: Case, o: Outcome): void {
  expectRefused(o.run, c);
  expectRefused(o.validate, c);
  expectLocatedWithHint(o.run, c, expectedWhere(c, o, 'run'));
  expectLocatedWithHint(o.validate, c, expectedWhere(c, o, 'validate'));
}

describe('bad input is refused before anything runs (test/fixtures/bad)', () => {
  it('has a corpus of at least 30 cases, each with its .expect.json', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    for (const f of readdirSync(CORPUS).filter((f) => f.endsWith('.expect.json'))) {
      expect(cases.map((c) => `${c.name}.expect.json`)).toContain(f);
    }
  });

  it.concurrent.each(cases)('$name', async (c) => {
    const o = await outcomeOf(c);
    if (!c.expect.knownBug) expectReportedAsExpected(c, o);
    expect(o.before.dirs.length).toBeGreaterThan(0);
    expect(Object.keys(o.before.files).length).toBeGreaterThan(0);
    expect(o.after).toEqual(o.before);
  });
});

const knownBugs = cases.filter((c) => c.expect.knownBug);

// These fail today because of the src/ bug named in the case's `knownBug`. When one
// starts passing, vitest reports it: delete `knownBug` from that .expect.json.
describe.runIf(knownBugs.length > 0)('known bugs', () => {
  it.fails.each(knownBugs)('$name: $expect.knownBug', async (c) => {
    expectReportedAsExpected(c, await outcomeOf(c));
  });
});

import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { CLI, paramflow, quickProject } from '../helpers/project.js';

// On a terminal paramflow draws live bars; every line the piped output has must still be
// there (cli-progress drops the lines it holds when it stops). The same command runs once
// under a pseudo-terminal (`script`, from util-linux) and once piped, in twin projects.

const hasScript = (await execa('script', ['--version'], { reject: false })).exitCode === 0;

/** The lines a person reads: escape codes out, cursor moves as line breaks, bars and the clock out. */
function readable(text: string): string[] {
  return (
    text
      .replace(/\x1b\[[0-9;?]*G/g, '\n') // cursor to a column: the bar's redraw starts over
      .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
      .split(/\r?\n|\r/)
      .map((l) => l.trimEnd())
      // a line wrapped to the terminal's width (its pieces after the first indented by 4) is one line
      .reduce<string[]>(
        (acc, l) =>
          /^ {4}\S/.test(l) && acc.length > 0 ? [...acc.slice(0, -1), `${acc.at(-1)} ${l.trim()}`] : [...acc, l],
        [],
      )
      .filter((l) => l !== '' && !/ · ETA /.test(l) && !/^ {2}\S+: \d+\/\d+( \w+)?$/.test(l))
      .map((l) =>
        l
          .replace(/sweep-\d{8}-\d{6}-[0-9a-f-]*/g, '<sweep>')
          .replace(/\d{8}-\d{6}-\d{3}-[0-9a-f]+/g, '<run>')
          .replace(/\b\d+(\.\d+)?(ms|s)\b/g, '<t>')
          .replace(/\b\d+m\d+s\b/g, '<t>'),
      )
  );
}

async function both(args: string[]): Promise<{ tty: string[]; piped: string[] }> {
  const [a, b] = [quickProject(), quickProject()];
  const command = [process.execPath, CLI, ...args].map((x) => `'${x}'`).join(' ');
  const tty = await execa('script', ['-qec', command, '/dev/null'], { cwd: a, reject: false });
  const piped = await paramflow(b, args);
  expect(piped.exitCode, String(piped.stderr)).toBe(0);
  return { tty: readable(String(tty.stdout)), piped: readable(String(piped.stderr)) };
}

describe.skipIf(!hasScript)('on a terminal, the lines of the piped output', () => {
  const run = ['run', 'pipeline.yaml', '--set', 'train.epochs=4'];

  it('a run that computes: every stage line, the run line and its result', async () => {
    const { tty, piped } = await both(run);
    expect(piped).toContain('✓ evaluate: done in <t>');
    expect(piped.some((l) => /^ {2}cv_rmse_mean \d/.test(l))).toBe(true);
    expect(tty).toEqual(piped);
  }, 120_000);

  it('a cached no-op: its header, the cached stages, the run line', async () => {
    const [a, b] = [quickProject(), quickProject()];
    for (const dir of [a, b]) expect((await paramflow(dir, run)).exitCode).toBe(0);
    const command = [process.execPath, CLI, ...run].map((x) => `'${x}'`).join(' ');
    const tty = readable(String((await execa('script', ['-qec', command, '/dev/null'], { cwd: a })).stdout));
    const piped = readable(String((await paramflow(b, run)).stderr));
    expect(piped).toContain('• simulate: cached');
    expect(tty).toEqual(piped);
  }, 120_000);

  it('a sweep: its header, each trial at work, its progress and end', async () => {
    const { tty, piped } = await both([...run, '--sweep', 'train.batch_size=16,32', '--jobs', '1']);
    expect(piped.some((l) => l.includes('batch_size=16: train running'))).toBe(true);
    expect(tty).toEqual(piped);
  }, 180_000);
});

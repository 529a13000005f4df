import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSbatch, sbatchScript } from '../../src/sweep/slurm/script.js';
import {
  arrayIndexes,
  describeEnd,
  isTerminal,
  parseSacct,
  parseSqueue,
  stoppedBySlurm,
  taskEnd,
} from '../../src/sweep/slurm/states.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '..', 'fixtures', 'slurm', name), 'utf8');

describe('Slurm state parsing (recorded squeue/sacct output)', () => {
  it('squeue -r: one task per line, pending reasons kept, None dropped', () => {
    expect(parseSqueue(fixture('squeue-r.txt'))).toEqual([
      { jobId: '4711', index: 2, state: 'PENDING', detail: 'Resources' },
      { jobId: '4711', index: 3, state: 'PENDING', detail: 'Priority' },
      { jobId: '4711', index: 0, state: 'RUNNING' },
      { jobId: '4711', index: 1, state: 'COMPLETING' },
    ]);
  });

  it('squeue without -r: folded pending tasks are unfolded, the %N throttle ignored', () => {
    const states = parseSqueue(fixture('squeue-folded.txt'));
    expect(states.map((s) => [s.index, s.state])).toEqual([
      [2, 'PENDING'],
      [3, 'PENDING'],
      [0, 'RUNNING'],
      [1, 'RUNNING'],
    ]);
    expect(states.some((s) => isTerminal(s.state))).toBe(false); // COMPLETING and PENDING are not ends either
  });

  it('array ids: single, ranges, lists, steps, and a plain job id', () => {
    expect(arrayIndexes('4711_7')).toEqual({ jobId: '4711', indexes: [7] });
    expect(arrayIndexes('4711_[0-2,5,8-9%3]')).toEqual({ jobId: '4711', indexes: [0, 1, 2, 5, 8, 9] });
    expect(arrayIndexes('4711_[0-6:3]')).toEqual({ jobId: '4711', indexes: [0, 3, 6] });
    expect(arrayIndexes('4711')).toEqual({ jobId: '4711', indexes: [] });
  });

  it('sacct: every end state is terminal; a requeued task takes its last line', () => {
    const byIndex = Object.fromEntries(parseSacct(fixture('sacct.txt')).map((t) => [t.index, t]));
    expect(Object.keys(byIndex)).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(byIndex[4]).toMatchObject({ state: 'COMPLETED' });
    expect(Object.values(byIndex).every((t) => isTerminal(t.state))).toBe(true);
    expect(describeEnd(byIndex[1]!)).toBe('slurm task 4711_1 FAILED (exit code 1)');
    expect(describeEnd(byIndex[2]!)).toBe('slurm task 4711_2 CANCELLED by 1000 (exit code 0, signal 15)');
    expect(describeEnd(byIndex[3]!)).toBe('slurm task 4711_3 TIMEOUT');
    expect(describeEnd(byIndex[5]!)).toBe('slurm task 4711_5 OUT_OF_MEMORY (exit code 0, signal 125)');
  });

  it("a header line or squeue's error text parses to no tasks", () => {
    expect(parseSacct('JobID|State|ExitCode\n')).toEqual([]);
    expect(parseSqueue(fixture('squeue-invalid.txt'))).toEqual([]);
  });

  it('sbatch --parsable: the job id, with or without a cluster name; anything else is an error', () => {
    expect(parseSbatch(fixture('sbatch-parsable.txt'))).toBe('4711');
    expect(parseSbatch('4712\n')).toBe('4712');
    expect(() => parseSbatch('sbatch: error: invalid partition specified: gpu\n')).toThrow(/did not print a job id/);
  });
});

// Recorded from a real Slurm 22.05 (test/helpers/slurm/record-fixtures.sh; see real/README.md).
describe('Slurm state parsing (recorded on a real single-node Slurm 22.05)', () => {
  const real = (name: string) => fixture(join('real', name));
  const tasks = (text: string) =>
    parseSqueue(text).map((t) => `${t.index} ${t.state}${t.detail ? ` (${t.detail})` : ''}`);

  it("squeue -t all: ended tasks keep their end state (until MinJobAge); squeue's reason is no exit code", () => {
    const states = parseSqueue(real('squeue-all-ended.txt'));
    expect(tasks(real('squeue-all-ended.txt'))).toEqual([
      '0 COMPLETED',
      '2 FAILED (JobLaunchFailure)',
      '1 FAILED (NonZeroExitCode)',
      '3 RUNNING',
    ]);
    expect(states.filter((t) => !isTerminal(t.state)).map((t) => t.index)).toEqual([3]);
  });

  it('sacct: exit codes and signals, a task scancelled while running', () => {
    const ends = parseSacct(real('sacct-ended.txt'));
    expect(ends.map((t) => describeEnd(t))).toEqual([
      'slurm task 37_0 COMPLETED',
      'slurm task 37_1 FAILED (exit code 3)',
      'slurm task 37_2 FAILED (exit code 0, signal 9)',
      'slurm task 37_3 CANCELLED by 0',
    ]);
    expect(ends.map((t) => stoppedBySlurm(t.state))).toEqual([false, false, false, true]);
  });

  it('a throttled array (%1): pending tasks wait on JobArrayTaskLimit, with -r one line each or folded without', () => {
    expect(tasks(real('squeue-all-throttled.txt'))).toEqual([
      '1 PENDING (JobArrayTaskLimit)',
      '2 PENDING (JobArrayTaskLimit)',
      '0 RUNNING',
    ]);
    expect(tasks(real('squeue-folded.txt'))).toEqual([
      '1 PENDING (JobArrayTaskLimit)',
      '2 PENDING (JobArrayTaskLimit)',
      '0 RUNNING',
    ]);
  });

  it('a pending task scancelled on its own is cut from the array: squeue lists the others, sacct nothing for it', () => {
    expect(
      parseSqueue(real('squeue-all-pending-cut.txt'))
        .map((t) => t.index)
        .sort(),
    ).toEqual([0, 1]);
    expect(taskEnd(parseSacct(real('sacct-pending-cut.txt')), '41', 2)).toBeUndefined();
  });

  it("a whole array scancelled: at once sacct has only the array's own line, which stands for every task; later one line per task", () => {
    const atOnce = parseSacct(real('sacct-array-cancelled-at-once.txt'));
    expect(describeEnd(taskEnd(atOnce, '41', 1)!)).toBe('slurm task 41_1 CANCELLED by 0');
    expect(taskEnd(atOnce, '42', 1)).toBeUndefined(); // another job's line stands for nothing here
    const later = parseSacct(real('sacct-array-cancelled.txt'));
    expect([0, 1].map((i) => taskEnd(later, '41', i)?.state)).toEqual(['CANCELLED by 0', 'CANCELLED by 0']);
  });

  it('sbatch --parsable and squeue on a forgotten job, as recorded', () => {
    expect(parseSbatch(real('sbatch-parsable.txt'))).toBe('37');
    expect(real('squeue-invalid.txt')).toMatch(/invalid job id/i);
    expect(parseSqueue(real('squeue-invalid.txt'))).toEqual([]);
  });
});

describe('sbatch script', () => {
  const base = {
    count: 6,
    dir: '/shared/proj/.paramflow/slurm/b1',
    cwd: '/shared/proj',
    name: 'paramflow-quick',
    node: '/opt/node/bin/node',
    cli: "/opt/pf's/dist/src/cli/main.js",
  };

  it('one array over the tasks, with the resources of executor.slurm', () => {
    const s = sbatchScript({
      ...base,
      settings: { partition: 'short', cpus: 4, mem: '8G', time: '01:30:00', account: 'lab-x', max_parallel: 3 },
    });
    const directives = s.split('\n').filter((l) => l.startsWith('#SBATCH'));
    expect(directives).toEqual([
      '#SBATCH --job-name=paramflow-quick',
      '#SBATCH --array=0-5%3',
      '#SBATCH --partition=short',
      '#SBATCH --account=lab-x',
      '#SBATCH --cpus-per-task=4',
      '#SBATCH --mem=8G',
      '#SBATCH --time=01:30:00',
      '#SBATCH --output="/shared/proj/.paramflow/slurm/b1/logs/%A_%a.log"',
      '#SBATCH --chdir="/shared/proj"',
    ]);
    expect(s.startsWith('#!/bin/bash\n')).toBe(true);
    // Paths are quoted for bash, even with a quote inside.
    expect(s).toContain(
      `exec '/opt/node/bin/node' '/opt/pf'\\''s/dist/src/cli/main.js' slurm-task '/shared/proj/.paramflow/slurm/b1'`,
    );
  });

  it('paths in #SBATCH lines are double-quoted (sbatch splits them at spaces); a double quote in one is refused', () => {
    const s = sbatchScript({
      ...base,
      dir: '/shared/my proj/.paramflow/slurm/b1',
      cwd: "/shared/my proj's",
      settings: {},
    });
    expect(s).toContain('#SBATCH --output="/shared/my proj/.paramflow/slurm/b1/logs/%A_%a.log"\n');
    expect(s).toContain(`#SBATCH --chdir="/shared/my proj's"\n`);
    expect(() => sbatchScript({ ...base, cwd: '/shared/a"b', settings: {} })).toThrow(
      /cannot be written into an sbatch script/,
    );
  });

  it("defaults: one cpu, no partition, memory or time limit of its own (the cluster's defaults apply)", () => {
    const s = sbatchScript({ ...base, count: 1, settings: {} });
    expect(s).toContain('#SBATCH --array=0-0\n');
    expect(s).toContain('#SBATCH --cpus-per-task=1\n');
    expect(s).not.toMatch(/--partition|--mem|--time|--account/);
  });
});

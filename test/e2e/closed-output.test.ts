import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { paramflow, quickProject, runRecord } from '../helpers/project.js';

// `paramflow run … 2>&1 | head -1`: the reader of stdout/stderr goes away after the first
// line. Output is a courtesy; the run must carry on, finish, record itself and exit as it
// would have (issue 18, item 8). The reader is closed on the first line it receives (as
// head does), so every later line of the run meets a closed pipe: no timing involved.
const SMALL = ['--set', 'simulate.n=240', '--set', 'simulate.x.points=40', '--set', 'train.epochs=2'];

describe('a closed output pipe', () => {
  it.each([
    { name: 'stderr and stdout (2>&1 | head -1)', args: [] as string[] },
    { name: 'stdout of --json and stderr', args: ['--json'] },
  ])(
    '$name closed after the first line: the run finishes, exit 0, its record FINISHED',
    async ({ args }) => {
      const dir = quickProject();
      const child = paramflow(dir, ['run', 'pipeline.yaml', ...SMALL, ...args]);
      let first = '';
      const closeBoth = () => {
        child.stdout!.destroy();
        child.stderr!.destroy();
      };
      child.stderr!.once('data', (d: Buffer) => {
        first = d.toString();
        closeBoth();
      });
      const r = await child;
      expect(first).toMatch(/^run \S+ · quick/);
      expect(r.exitCode).toBe(0);
      const [runId] = readdirSync(join(dir, '.paramflow', 'runs')).filter((n) => !n.startsWith('.'));
      const record = await runRecord(dir, runId!);
      expect(record.status).toBe('FINISHED');
      expect(Object.keys(record.stages).sort()).toEqual(['evaluate', 'folds', 'noise', 'simulate', 'train']);
      expect((await paramflow(dir, ['cache', 'verify'])).exitCode).toBe(0);
    },
    120_000,
  );
});

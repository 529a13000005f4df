import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isRunning, TINY_SIMULATE } from '../helpers/command-scripts.js';
import { makeProject, paramflow, runJson } from '../helpers/project.js';

// Issue 18 item 5: a command stage's program runs in a process group of its own, so a SIGKILL
// of paramflow (which no handler sees) left it running: it finished its side effects after the
// run was recorded KILLED, and the next run started a second copy beside it.

/**
 * Logs its start and end in starts.log. The first start holds while `hold` exists (a long
 * program); later ones write their output and end at once.
 */
const HOLD_SCRIPT = `import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
const first = !existsSync('starts.log');
appendFileSync('starts.log', 'start ' + process.pid + '\\n');
const stat = readFileSync('/proc/self/stat', 'utf8');
const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
writeFileSync('pids.json', JSON.stringify({ pid: process.pid, pgid }));
const finish = () => { writeFileSync(process.argv[2], '{}'); appendFileSync('starts.log', 'done ' + process.pid + '\\n'); process.exit(0); };
if (first && existsSync('hold')) {
  console.log('ready');
  setInterval(() => { if (!existsSync('hold')) finish(); }, 20);
} else finish();
`;
const PIPELINE = `name: cmd\nseed: 3\nstages:\n${TINY_SIMULATE}  long:
    uses: command
    needs: [simulate]
    with:
      run: node hold.mjs {outputs.r}
      outputs: [r.json]
`;

const hasProc = existsSync('/proc/self/stat');
const started: number[] = [];
afterEach(() => {
  // Never leave a test's program behind, whatever the assertions said.
  for (const pid of started.splice(0)) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
});

async function startHeld(): Promise<{ dir: string; proc: ReturnType<typeof paramflow>; pid: number; pgid: number }> {
  const dir = makeProject(PIPELINE);
  writeFileSync(join(dir, 'hold.mjs'), HOLD_SCRIPT);
  writeFileSync(join(dir, 'hold'), '');
  const proc = paramflow(dir, ['run', 'pipeline.yaml']);
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    proc.stderr!.on('data', (c: Buffer) => {
      seen += c.toString();
      if (/long: ready/.test(seen)) resolve();
    });
    void proc.then(() => reject(new Error(`paramflow ended before the command was ready:\n${seen}`)));
  });
  const { pid, pgid } = JSON.parse(readFileSync(join(dir, 'pids.json'), 'utf8')) as { pid: number; pgid: number };
  started.push(pid);
  return { dir, proc, pid, pgid };
}

/** Waits (bounded) until `pid` is gone; whether it is. */
async function gone(pid: number, ms = 10_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (isRunning(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  return !isRunning(pid);
}

const starts = (dir: string) => readFileSync(join(dir, 'starts.log'), 'utf8').trim().split('\n');

describe.skipIf(!hasProc)('a command stage when paramflow is SIGKILLed', () => {
  it('ends with paramflow: the program is killed and never finishes its side effects', async () => {
    const { dir, proc, pid } = await startHeld();
    expect(isRunning(pid)).toBe(true);
    proc.kill('SIGKILL');
    expect((await proc).signal).toBe('SIGKILL');
    expect(await gone(pid)).toBe(true);
    rmSync(join(dir, 'hold'));
    expect(starts(dir)).toEqual([`start ${pid}`]);
    const runs = JSON.parse(String((await paramflow(dir, ['runs', '--json'])).stdout)) as { status: string }[];
    expect(runs.map((r) => r.status)).toEqual(['KILLED']);
  });

  it('leftovers that outlived their launcher are ended by the next run before it starts the stage again', async () => {
    const { dir, proc, pid, pgid } = await startHeld();
    // The launcher (the group's leader) is stopped, then killed with paramflow: nothing is left
    // to end the program, which keeps running on its own.
    expect(pgid).not.toBe(pid);
    process.kill(pgid, 'SIGSTOP');
    proc.kill('SIGKILL');
    await proc;
    process.kill(pgid, 'SIGKILL');
    expect(await gone(pgid)).toBe(true);
    expect(isRunning(pid)).toBe(true);

    const next = await runJson(dir);
    expect(next.executed).toEqual(['long']);
    const log = readFileSync(join(dir, '.paramflow', 'runs', next.runId, 'logs', 'long.log'), 'utf8');
    expect(log).toMatch(
      new RegExp(`ended 1 process\\(es\\) left running by an earlier, killed run of this stage \\(pid ${pid}\\)`),
    );
    expect(await gone(pid)).toBe(true);
    rmSync(join(dir, 'hold'));
    const again = starts(dir);
    expect(again[0]).toBe(`start ${pid}`);
    expect(again).not.toContain(`done ${pid}`);
    expect(again.slice(1)).toHaveLength(2); // the new start and its end, nothing of the old one
  });
});

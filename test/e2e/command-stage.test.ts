import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  FAILING_SCRIPT,
  isRunning,
  SCALE_SCRIPT,
  SILENT_SCRIPT,
  TINY_SIMULATE,
  TREE_SCRIPT,
} from '../helpers/command-scripts.js';
import { printedErrors, snapshotTree } from '../helpers/cli.js';
import { makeProject, paramflow, runJson, runRecord } from '../helpers/project.js';

const pipeline = (commandStage: string) => `name: cmd\nseed: 3\nstages:\n${TINY_SIMULATE}${commandStage}`;

const SCALE_STAGE = `  smooth:
    uses: command
    needs: [simulate]
    with:
      run: node scale.mjs {inputs.simulate.Y} {outputs.Y2} {params.factor}
      outputs: [Y2]
      deps: [table.txt]
      params: { factor: 2 }
  check:
    uses: command
    needs: [smooth]
    with:
      run: [node, -e, "require('fs').copyFileSync(process.argv[1], process.argv[2])", "{inputs.smooth.Y2}", "{outputs.copy}"]
      outputs: [copy.npy]
`;

function commandProject(stage: string, files: Record<string, string>): string {
  const dir = makeProject(pipeline(stage));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const cacheKeys = async (dir: string) =>
  (JSON.parse(String((await paramflow(dir, ['cache', 'ls', '--json'])).stdout)) as { key: string }[])
    .map((e) => e.key)
    .sort();

describe('command stages', () => {
  it('run, cache, and re-run when their script or a deps file changes, and not otherwise', async () => {
    const dir = commandProject(SCALE_STAGE, { 'scale.mjs': SCALE_SCRIPT, 'table.txt': 'v1\n' });
    const first = await runJson(dir);
    expect(first.executed.sort()).toEqual(['check', 'simulate', 'smooth']);
    const rec = await runRecord(dir, first.runId);
    expect(rec.stages.smooth!.details.files).toHaveProperty(['scale.mjs']);
    expect(rec.stages.smooth!.details.files).toHaveProperty(['table.txt']);

    // The program's output flows downstream: the copy holds the scaled array.
    const entry = (stage: string, file: string) =>
      readFileSync(join(dir, '.paramflow', 'cache', rec.stages[stage]!.key, file));
    const y = entry('simulate', 'Y.npy');
    const y2 = entry('smooth', 'Y2.npy');
    expect(entry('check', 'copy.npy').equals(y2)).toBe(true);
    const floats = (b: Buffer) =>
      new Float32Array(b.buffer.slice(b.byteOffset + 10 + b.readUInt16LE(8), b.byteOffset + b.length));
    expect([...floats(y2)]).toEqual([...floats(y)].map((v) => Math.fround(v * 2)));

    expect((await runJson(dir)).executed).toEqual([]);
    writeFileSync(join(dir, 'unrelated.mjs'), '// not named anywhere\n');
    expect((await runJson(dir)).executed).toEqual([]);

    writeFileSync(join(dir, 'scale.mjs'), SCALE_SCRIPT + '// edited\n');
    const status = JSON.parse(String((await paramflow(dir, ['status', 'pipeline.yaml', '--json'])).stdout)) as {
      stages: { stage: string; reasons: string[] }[];
    };
    expect(status.stages.find((s) => s.stage === 'smooth')!.reasons).toEqual(['file scale.mjs changed']);
    // Keys chain: check's key holds smooth's, so it re-runs too; simulate stays cached.
    expect((await runJson(dir)).executed.sort()).toEqual(['check', 'smooth']);

    writeFileSync(join(dir, 'table.txt'), 'v2\n');
    expect((await runJson(dir)).executed.sort()).toEqual(['check', 'smooth']);
    expect((await runJson(dir)).executed).toEqual([]);
    expect((await runJson(dir, ['--set', 'smooth.params.factor=3'])).executed.sort()).toEqual(['check', 'smooth']);
    // A timeout cannot change results: it is not part of the key.
    expect((await runJson(dir, ['--set', 'smooth.params.factor=3', '--set', 'smooth.timeout=100'])).executed).toEqual(
      [],
    );
  });

  it('runs through /bin/sh only when asked', async () => {
    const stage = `  size:
    uses: command
    needs: [simulate]
    with:
      shell: true
      run: cat {inputs.simulate.Y} | wc -c > {outputs.bytes}
      outputs: [bytes.json]
`;
    const dir = commandProject(stage, {});
    const run = await runJson(dir);
    const rec = await runRecord(dir, run.runId);
    const entry = (stage: string, file: string) =>
      readFileSync(join(dir, '.paramflow', 'cache', rec.stages[stage]!.key, file));
    expect(JSON.parse(entry('size', 'bytes.json').toString())).toBe(entry('simulate', 'Y.npy').length);

    // Without shell: true the same words go to the program as arguments: `|` is not a pipe.
    const plain = commandProject(stage.replace('      shell: true\n', ''), {});
    const r = await paramflow(plain, ['run', 'pipeline.yaml']);
    expect(r.exitCode).toBe(1);
    // cat got `|`, `wc`, `-c`, `>` as arguments, and says so.
    expect(String(r.stderr)).toMatch(/exited with code 1\nlast stderr lines:\n {2}\| cat: /);
  });

  it("streams output to the terminal and the run log, and records metrics.json and PNGs like a built-in stage's", async () => {
    const dir = commandProject(SCALE_STAGE, { 'scale.mjs': SCALE_SCRIPT, 'table.txt': 'v1\n' });
    const r = await paramflow(dir, ['run', 'pipeline.yaml']);
    const stderr = String(r.stderr);
    expect(r.exitCode, stderr).toBe(0);
    expect(stderr).toMatch(/smooth: scaled 40 values/);
    const runId = /run (\S+) ·/.exec(stderr)![1]!;
    expect(readFileSync(join(dir, '.paramflow', 'runs', runId, 'logs', 'smooth.log'), 'utf8')).toMatch(
      /scaled 40 values/,
    );
    const rec = await runRecord(dir, runId);
    expect(rec.stages.smooth!.metrics).toEqual({ 'scaled.mean': expect.any(Number) });
    expect(rec.metrics['scaled.mean']).toBe(rec.stages.smooth!.metrics!['scaled.mean']);
    expect(existsSync(join(dir, '.paramflow', 'runs', runId, 'artifacts', 'smooth', 'plots', 'hist.png'))).toBe(true);
    // The scratch folder (inputs handed over, outputs written) is gone after success.
    expect(existsSync(join(dir, '.paramflow', 'runs', runId, 'work'))).toBe(false);
  });

  const failing = (script: string, extra = '') => `  fit:
    uses: command
    needs: [simulate]
    with:
      run: node fit.mjs {inputs.simulate.Y} {outputs.pred}
      outputs: [pred]${extra}
`;

  it.each([
    {
      what: 'exits non-zero',
      script: FAILING_SCRIPT,
      extra: '',
      expected: [
        /stage fit: command `node fit\.mjs \S+Y\.npy \S+pred\.npy` exited with code 3/,
        /problem line 20/,
        /problem line 9\b/,
      ],
    },
    {
      what: 'omits a declared output',
      script: SILENT_SCRIPT,
      extra: '',
      expected: [/stage fit: command `node fit\.mjs .*` did not write its declared output `pred`/],
    },
    {
      what: 'is killed by a signal',
      script: "console.error('about to die'); process.kill(process.pid, 'SIGKILL');\n",
      extra: '',
      expected: [/stage fit: command `node fit\.mjs .*` was killed by SIGKILL/, /\| about to die/],
    },
    {
      what: 'times out',
      script: 'setInterval(() => {}, 1000);\n',
      extra: '\n      timeout: 0.3',
      expected: [/stage fit: command `node fit\.mjs .*` timed out after 0\.3 s/],
    },
  ])(
    'a command that $what fails the run with a clear error and leaves the cache as it was',
    async ({ script, extra, expected }) => {
      const dir = commandProject(failing(script, extra), { 'fit.mjs': script });
      const r = await paramflow(dir, ['run', 'pipeline.yaml']);
      const stderr = String(r.stderr);
      expect(r.exitCode, stderr).toBe(1);
      const message = stderr.slice(stderr.lastIndexOf('error PF_STAGE_FAILED'));
      for (const re of expected) expect(message).toMatch(re);
      // The tail, not the whole stderr (that is streamed and in the log).
      expect(message).not.toMatch(/problem line 8\b/);
      const runs = JSON.parse(String((await paramflow(dir, ['runs', '--json'])).stdout)) as {
        status: string;
        stages?: unknown;
      }[];
      expect(runs.map((x) => x.status)).toEqual(['FAILED']);
      const rec = JSON.parse(String((await paramflow(dir, ['runs', '--json'])).stdout)) as { runId: string }[];
      const stored = await runRecord(dir, rec[0]!.runId);
      expect(Object.keys(stored.stages).filter((s) => stored.stages[s]!.status === 'executed')).toEqual(['simulate']);
      expect(await cacheKeys(dir)).toEqual([stored.stages.simulate!.key]);
    },
  );

  it.each([
    { signal: 'SIGINT' as const, exit: { exitCode: 130 } },
    // A sweep stops its workers with SIGTERM: paramflow takes the tree down, then dies of it.
    { signal: 'SIGTERM' as const, exit: { signal: 'SIGTERM' } },
  ])('$signal during a long command kills the whole process tree and the run is KILLED', async ({ signal, exit }) => {
    const stage = `  long:
    uses: command
    needs: [simulate]
    with:
      run: node tree.mjs pids.json {inputs.simulate.Y}
`;
    const dir = commandProject(stage, { 'tree.mjs': TREE_SCRIPT });
    const proc = paramflow(dir, ['run', 'pipeline.yaml']);
    // The script says "ready" (streamed through paramflow's log) once pids.json is written.
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      proc.stderr!.on('data', (c: Buffer) => {
        seen += c.toString();
        if (/long: ready/.test(seen)) resolve();
      });
      void proc.then(() => reject(new Error(`paramflow ended before the command was ready:\n${seen}`)));
    });
    const pids = JSON.parse(readFileSync(join(dir, 'pids.json'), 'utf8')) as { child: number; grandchild: number };
    expect(isRunning(pids.child) && isRunning(pids.grandchild)).toBe(true);
    proc.kill(signal);
    const r = await proc;
    expect(r, String(r.stderr)).toMatchObject(exit);
    // SIGKILL was sent before paramflow exited; give the kernel a bounded number of looks.
    for (let i = 0; i < 200 && (isRunning(pids.child) || isRunning(pids.grandchild)); i++)
      await new Promise((res) => setImmediate(res));
    expect({ child: isRunning(pids.child), grandchild: isRunning(pids.grandchild) }).toEqual({
      child: false,
      grandchild: false,
    });
    const runs = JSON.parse(String((await paramflow(dir, ['runs', '--json'])).stdout)) as { status: string }[];
    expect(runs.map((x) => x.status)).toEqual(['KILLED']);
  });

  it.each([
    {
      what: 'an unknown output of a needed stage',
      run: 'node x.mjs {inputs.simulate.Q}',
      needs: '[simulate]',
      extra: '',
      message: /refers to \{inputs\.simulate\.Q\}, but `simulate` \(simulate\) has no output `Q`/,
      line: 15,
    },
    {
      what: 'a stage it does not need',
      run: 'node x.mjs {inputs.simulate.Y}',
      needs: '[]',
      extra: '',
      message: /refers to \{inputs\.simulate\.Y\}, but does not need `simulate`/,
      line: 15,
    },
    {
      what: 'an undeclared output',
      run: 'node x.mjs {outputs.nope}',
      needs: '[simulate]',
      extra: '',
      message: /run refers to \{outputs\.nope\}, which is not a declared output/,
      line: 15,
    },
    {
      what: 'an unknown placeholder',
      run: 'node x.mjs {input.simulate.Y}',
      needs: '[simulate]',
      extra: '',
      message: /unknown placeholder \{input\.simulate\.Y\}/,
      line: 15,
    },
    {
      what: 'a missing deps file',
      run: 'node x.mjs',
      needs: '[simulate]',
      extra: '\n      deps: [nothere.csv]',
      message: /dependency "nothere\.csv" not found/,
      line: 16,
    },
    {
      what: 'a deps file outside the project',
      run: 'node x.mjs',
      needs: '[simulate]',
      extra: '\n      deps: [../../etc/passwd]',
      message: /outside the project/,
      line: 16,
    },
  ])('refers to $what: a located error, exit 2, nothing written', async ({ run, needs, extra, message, line }) => {
    const stage = `  bad:\n    uses: command\n    needs: ${needs}\n    with:\n      run: ${run}${extra}\n`;
    const dir = commandProject(stage, { 'x.mjs': '' });
    const before = await snapshotTree(join(dir, '.paramflow'));
    const r = await paramflow(dir, ['run', 'pipeline.yaml']);
    const stderr = String(r.stderr);
    expect(r.exitCode, stderr).toBe(2);
    const [err] = printedErrors(stderr);
    expect(err!.head).toMatch(message);
    expect(err!.head).toMatch(new RegExp(`^pipeline\\.yaml:${line}:\\d+: error PF_`));
    expect(err!.hint).toBeTruthy();
    expect(await snapshotTree(join(dir, '.paramflow'))).toEqual(before);
  });
});

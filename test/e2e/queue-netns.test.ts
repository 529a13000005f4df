import { execa } from 'execa';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SweepRecord } from '../../src/tracking/sweep-record.js';
import { createNetns, netnsUnavailable, removeNetns, type Netns } from '../helpers/netns.js';
import { CLI, paramflow, quickProject, runRecord } from '../helpers/project.js';
import { hasRedis, startRedis, type RedisServer } from '../helpers/redis.js';
import { startWorker } from '../helpers/queue-worker.js';

const SMALL = ['--set', 'simulate.n=240', '--set', 'simulate.x.points=40', '--set', 'train.epochs=2'];
const GRID6 = ['--sweep', 'train.batch_size=16,32,64', '--sweep', 'noise.gaussian.relative=0,0.05'];

// Probed once, at collection: the reason is part of the suite's name, so a skip says why.
const unavailable = hasRedis ? netnsUnavailable() : '/usr/bin/redis-server is absent';

function objectives(s: SweepRecord) {
  return Object.fromEntries(s.trials.map((t) => [t.id, t.objective?.mean]));
}

/** The CLI run inside network namespace `ns`. */
function paramflowIn(ns: string, cwd: string, args: string[], env: Record<string, string>) {
  return execa('ip', ['netns', 'exec', ns, process.execPath, CLI, ...args], {
    cwd,
    reject: false,
    env: { ...process.env, ...env },
  });
}

describe.skipIf(unavailable !== undefined)(
  `queue executor, each worker in its own network namespace${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let nets: Netns[] = [];
    let redis: RedisServer & { port: number };
    let expected: Record<string, number | undefined>;

    beforeAll(async () => {
      nets = [createNetns(0), createNetns(1)];
      // Listening on each link's root-side address: a worker reaches Redis over its own link only.
      redis = await startRedis(nets.map((n) => n.hostAddr));
      const ref = await paramflow(quickProject(), [
        'run',
        'pipeline.yaml',
        '--json',
        ...SMALL,
        ...GRID6,
        '--jobs',
        '2',
      ]);
      expect(ref.exitCode, String(ref.stderr)).toBe(0);
      expected = objectives(JSON.parse(String(ref.stdout)) as SweepRecord);
    }, 300_000);

    afterAll(async () => {
      await redis?.stop();
      for (const i of nets.keys()) removeNetns(i);
    });

    it('a 6-trial sweep served by two workers in two namespaces and two folders sharing a remote folder: same objectives as locally, simulate executed once, both workers served trials', async () => {
      const shared = mkdtempSync(join(tmpdir(), 'pf-shared-'));
      const queue = 'six-trials-netns';
      const [submitter, a, b] = [quickProject(), quickProject(), quickProject()];
      const [na, nb] = nets as [Netns, Netns];
      const workerEnv = (n: Netns) => ({
        PARAMFLOW_REDIS_URL: `redis://${n.hostAddr}:${redis.port}`,
        PARAMFLOW_QUEUE: queue,
        PARAMFLOW_CACHE_REMOTE: shared,
      });

      // The namespaces really are apart: from a's namespace, b's link to Redis is not there.
      const across = await paramflowIn(na.name, a, ['queue', 'status'], {
        ...workerEnv(na),
        PARAMFLOW_REDIS_URL: `redis://${nb.hostAddr}:${redis.port}`,
      });
      expect(across.exitCode, String(across.stderr)).toBe(2);
      expect(String(across.stderr)).toMatch(/cannot reach Redis/);

      const [wa, wb] = [startWorker(a, workerEnv(na), na.name), startWorker(b, workerEnv(nb), nb.name)];
      const logs = () => `--- worker a:\n${wa.log()}\n--- worker b:\n${wb.log()}`;
      try {
        await Promise.all([wa.line(/serving queue/), wb.line(/serving queue/)]);
        const here = { PARAMFLOW_REDIS_URL: redis.url, PARAMFLOW_QUEUE: queue };
        const status = await paramflow(submitter, ['queue', 'status', '--json'], { env: here });
        expect(status.exitCode, String(status.stderr)).toBe(0);
        // Redis sees each worker's connections coming from inside its namespace.
        const addrs = (JSON.parse(String(status.stdout)) as { workers: { addr?: string }[] }).workers.map((w) =>
          w.addr?.replace(/:\d+$/, ''),
        );
        expect(addrs.sort()).toEqual([na.nsAddr, nb.nsAddr].sort());

        const r = await paramflow(
          submitter,
          ['run', 'pipeline.yaml', '--json', '--executor', 'queue', ...SMALL, ...GRID6],
          { env: here },
        );
        expect(r.exitCode, `${String(r.stderr)}\n${logs()}`).toBe(0);
        const rec = JSON.parse(String(r.stdout)) as SweepRecord;
        expect(rec.status).toBe('FINISHED');
        expect(objectives(rec)).toEqual(expected);
        const runs = await Promise.all(
          rec.trials.flatMap((t) => t.replicates.map((x) => runRecord(submitter, x.runId!))),
        );
        expect(runs).toHaveLength(6);
        expect(
          runs.filter((x) => x.stages.simulate!.status === 'executed'),
          logs(),
        ).toHaveLength(1);
        // `ip netns exec` execs node, so the pids in the records are the two workers'.
        expect(new Set(runs.map((x) => x.pid))).toEqual(new Set([wa.proc.pid, wb.proc.pid]));
      } finally {
        wa.proc.kill('SIGTERM');
        wb.proc.kill('SIGTERM');
      }
      expect((await wa.proc).exitCode, logs()).toBe(0);
      expect((await wb.proc).exitCode, logs()).toBe(0);
    }, 300_000);
  },
);

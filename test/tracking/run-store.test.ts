import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Layout } from '../../src/project/layout.js';
import { ParamflowError } from '../../src/util/errors.js';
import { RunStore } from '../../src/tracking/run-store.js';
import { HOST } from '../../src/util/process-alive.js';
import { runRecord } from '../helpers/run-record.js';
import { deadPid } from '../helpers/processes.js';

let root: string;
let layout: Layout;
let store: RunStore;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'pf-runs-'));
  layout = new Layout(root);
  store = new RunStore(layout);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A fixed run id for day `day` of January 2026 (same day, same id). */
const idAt = (day: number) => `202601${String(day).padStart(2, '0')}-000000-000-abcd`;

describe('RunStore', () => {
  it('reads back what it wrote', async () => {
    const r = runRecord(
      idAt(1),
      { simulate: 'a'.repeat(64) },
      { metrics: { cv_rmse_mean: 0.5 }, endedAt: '2026-01-01T00:01:00.000Z' },
    );
    await store.write(r);
    expect(existsSync(join(layout.run(r.runId), 'run.json'))).toBe(true);
    expect(await store.read(r.runId)).toEqual(r);
  });

  it('replaces the record on a second write, leaving no temp files', async () => {
    const r = runRecord(idAt(1));
    await store.write({ ...r, status: 'RUNNING' });
    await store.write({ ...r, status: 'FINISHED' });
    expect((await store.read(r.runId)).status).toBe('FINISHED');
    expect(readdirSync(layout.run(r.runId))).toEqual(['run.json']);
  });

  it('lists runs newest first', async () => {
    const ids = [idAt(2), idAt(1), idAt(3)];
    for (const id of ids) await store.write(runRecord(id));
    expect((await store.list()).map((r) => r.runId)).toEqual([idAt(3), idAt(2), idAt(1)]);
  });

  it('lists nothing when there is no run folder yet', async () => {
    expect(await store.list()).toEqual([]);
  });

  it('skips a run with a corrupt run.json and reports it through onBad', async () => {
    await store.write(runRecord(idAt(1)));
    await store.write(runRecord(idAt(3)));
    const broken = idAt(2);
    mkdirSync(layout.run(broken), { recursive: true });
    writeFileSync(join(layout.run(broken), 'run.json'), '{"format": 1, "runId": ');
    const missing = idAt(4);
    mkdirSync(layout.run(missing), { recursive: true });
    const bad: [string, unknown][] = [];
    const list = await store.list((id, err) => bad.push([id, err]));
    expect(list.map((r) => r.runId)).toEqual([idAt(3), idAt(1)]);
    expect(bad.map(([id]) => id).sort()).toEqual([broken, missing].sort());
    for (const [, err] of bad) {
      expect(err).toBeInstanceOf(ParamflowError);
      expect((err as ParamflowError).code).toBe('PF_RUN_STORE');
    }
    // Without onBad it still lists the good ones.
    expect(await store.list()).toHaveLength(2);
  });

  it('ignores hidden folders (runs being removed)', async () => {
    await store.write(runRecord(idAt(1)));
    mkdirSync(join(layout.runsDir, '.rm-x-1'), { recursive: true });
    let bad = 0;
    expect((await store.list(() => bad++)).map((r) => r.runId)).toEqual([idAt(1)]);
    expect(bad).toBe(0);
  });

  it('reads a RUNNING record whose process on this host is dead as KILLED', async () => {
    const r = runRecord(idAt(1), {}, { status: 'RUNNING', pid: await deadPid(), host: HOST });
    await store.write(r);
    expect((await store.read(r.runId)).status).toBe('KILLED');
    expect((await store.list())[0]!.status).toBe('KILLED');
  });

  it('keeps RUNNING for a live process, or one on another host', async () => {
    const live = runRecord(idAt(1), {}, { status: 'RUNNING', pid: process.pid, host: HOST });
    const remote = runRecord(idAt(2), {}, { status: 'RUNNING', pid: await deadPid(), host: `not-${HOST}` });
    await store.write(live);
    await store.write(remote);
    expect((await store.read(live.runId)).status).toBe('RUNNING');
    expect((await store.read(remote.runId)).status).toBe('RUNNING');
  });

  it('does not touch finished records of dead processes', async () => {
    const r = runRecord(idAt(1), {}, { status: 'FAILED', pid: await deadPid() });
    await store.write(r);
    expect((await store.read(r.runId)).status).toBe('FAILED');
  });

  it('fails to read an unknown run with PF_RUN_STORE', async () => {
    await expect(store.read(idAt(9))).rejects.toMatchObject({ code: 'PF_RUN_STORE' });
  });

  it('removes a run: its folder goes, and list and read no longer see it', async () => {
    const [a, b] = [runRecord(idAt(1)), runRecord(idAt(2))];
    await store.write(a);
    await store.write(b);
    await store.remove(a.runId);
    expect(existsSync(layout.run(a.runId))).toBe(false);
    expect((await store.list()).map((r) => r.runId)).toEqual([b.runId]);
    await expect(store.read(a.runId)).rejects.toBeInstanceOf(ParamflowError);
    expect(readdirSync(layout.runsDir)).toEqual([b.runId]);
  });
});

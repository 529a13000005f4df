import { describe, expect, it } from 'vitest';
import { foldRepeats, isRepeat } from '../../src/tracking/repeats.js';
import { resolveRunRef } from '../../src/tracking/resolve-ref.js';
import type { RunRecord } from '../../src/tracking/run-record.js';
import { runRecord } from '../helpers/run-record.js';

const HASH = 'ab' + '0'.repeat(62);
const OTHER = 'cd' + '0'.repeat(62);
const KEY = 'ee' + '1'.repeat(62);

/** A run of HASH whose stage executed (it computed) or came from the cache (a no-op rerun). */
const run = (id: string, status: 'executed' | 'cached', runHash = HASH): RunRecord => {
  const r = runRecord(id, { simulate: KEY }, { runHash });
  r.stages.simulate!.status = status;
  return r;
};

// Newest first, as the run store lists them.
const runs = [
  run('20261206-1600', 'cached'),
  run('20261206-1500', 'cached'),
  run('20261206-1400', 'executed', OTHER),
  run('20261206-1300', 'executed'),
  run('20261206-1200', 'cached', 'ff' + '0'.repeat(62)),
];

describe('cached no-op reruns', () => {
  it('are the finished runs that executed no stage', () => {
    expect(runs.map(isRepeat)).toEqual([true, true, false, false, true]);
    expect(isRepeat({ ...run('x', 'cached'), status: 'FAILED' })).toBe(false);
  });

  it('fold into the run of their hash that computed, which counts them; one with no such run stays a row', () => {
    expect(foldRepeats(runs).map((r) => [r.run.runId, r.repeats])).toEqual([
      ['20261206-1400', 0],
      ['20261206-1300', 2],
      ['20261206-1200', 0],
    ]);
  });

  it('do not fold into a computing run that did not finish (Ctrl-C after its last stage): they show the results complete', () => {
    const killed = { ...run('20261206-1300', 'executed'), status: 'KILLED' as const };
    const rows = foldRepeats([run('20261206-1500', 'cached'), killed]);
    expect(rows.map((r) => [r.run.runId, r.run.status, r.repeats])).toEqual([
      ['20261206-1500', 'FINISHED', 0],
      ['20261206-1300', 'KILLED', 0],
    ]);
  });

  it('a run hash or stage key names the run that computed it, not the newest rerun', () => {
    expect(resolveRunRef('ab', runs).runId).toBe('20261206-1300');
    expect(resolveRunRef(KEY.slice(0, 8), runs).runId).toBe('20261206-1400');
    expect(resolveRunRef('20261206-16', runs).runId).toBe('20261206-1600'); // an id is that run
  });
});

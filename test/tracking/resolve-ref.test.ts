import { describe, expect, it } from 'vitest';
import { ParamflowError } from '../../src/util/errors.js';
import { resolveRunRef } from '../../src/tracking/resolve-ref.js';
import type { RunRecord } from '../../src/tracking/run-record.js';
import { runRecord } from '../helpers/run-record.js';

const HASH_A = 'aa11' + '0'.repeat(60);
const HASH_B = 'aa22' + '0'.repeat(60);
const KEY_1 = 'c0ffee' + '1'.repeat(58);
const KEY_2 = 'c0ff00' + '2'.repeat(58);
const KEY_3 = 'dd' + '3'.repeat(62);

// Listed out of time order on purpose: "newest" must come from the run id.
const runs: RunRecord[] = [
  runRecord('20260102-120000-000-1111', { simulate: KEY_1 }, { runHash: HASH_A }),
  runRecord('20260103-090000-000-2222', { simulate: KEY_1, noise: KEY_3 }, { runHash: HASH_A }),
  runRecord('20260101-080000-000-3333', { simulate: KEY_2 }, { runHash: HASH_B }),
];

function refusal(ref: string, list: readonly RunRecord[] = runs): ParamflowError {
  try {
    resolveRunRef(ref, list);
  } catch (err) {
    expect(err).toBeInstanceOf(ParamflowError);
    return err as ParamflowError;
  }
  throw new Error(`expected ${ref} to be refused`);
}

describe('resolveRunRef', () => {
  it('resolves a run id prefix', () => {
    expect(resolveRunRef('20260101', runs).runId).toBe('20260101-080000-000-3333');
    expect(resolveRunRef('20260102-120000-000-1111', runs).runId).toBe('20260102-120000-000-1111');
  });

  it('resolves a run hash prefix to the newest run with that hash', () => {
    expect(resolveRunRef('aa11', runs).runId).toBe('20260103-090000-000-2222');
    expect(resolveRunRef(HASH_A, runs).runId).toBe('20260103-090000-000-2222');
    expect(resolveRunRef('aa22', runs).runId).toBe('20260101-080000-000-3333');
  });

  it('resolves a stage key prefix to the newest run that has that key', () => {
    expect(resolveRunRef('c0ffee', runs).runId).toBe('20260103-090000-000-2222');
    expect(resolveRunRef('c0ff00', runs).runId).toBe('20260101-080000-000-3333');
    expect(resolveRunRef('dd3', runs).runId).toBe('20260103-090000-000-2222');
  });

  it('tries run ids before hashes', () => {
    const clash = [
      runRecord('abc-run', {}, { runHash: 'f'.repeat(64) }),
      runRecord('zzz', {}, { runHash: 'abc' + '0'.repeat(61) }),
    ];
    expect(resolveRunRef('abc', clash).runId).toBe('abc-run');
  });

  it('lists the candidates when a run id prefix is ambiguous', () => {
    const err = refusal('2026010');
    expect(err.code).toBe('PF_BAD_REF');
    expect(err.exitCode).toBe(2);
    for (const r of runs) expect(err.message).toContain(r.runId);
    expect(err.hint).toBeTruthy();
  });

  it('lists the candidates when a hash prefix matches several hashes', () => {
    const err = refusal('aa');
    expect(err.code).toBe('PF_BAD_REF');
    expect(err.message).toContain(HASH_A.slice(0, 16));
    expect(err.message).toContain(HASH_B.slice(0, 16));
  });

  it('lists the candidates when a stage key prefix matches several keys', () => {
    const err = refusal('c0ff');
    expect(err.code).toBe('PF_BAD_REF');
    expect(err.message).toContain(KEY_1.slice(0, 16));
    expect(err.message).toContain(KEY_2.slice(0, 16));
  });

  it('refuses a ref that matches nothing, and an empty ref', () => {
    const none = refusal('beef');
    expect(none.code).toBe('PF_BAD_REF');
    expect(none.message).toContain('beef');
    expect(refusal('').code).toBe('PF_BAD_REF');
    expect(refusal('aa11', []).code).toBe('PF_BAD_REF');
  });
});

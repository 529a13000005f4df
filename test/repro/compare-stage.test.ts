import { describe, expect, it } from 'vitest';
import { FORMAT_VERSION, type KeyDetails } from '../../src/hash/stage-key.js';
import {
  cacheFinding,
  compareMetrics,
  compareStage,
  filesDigest,
  type CompareInput,
} from '../../src/repro/compare-stage.js';
import type { StageRecord } from '../../src/tracking/run-record.js';

const digest = (c: string) => c.repeat(64);
const details = (change: Partial<KeyDetails> = {}): KeyDetails => ({
  type: 'train',
  version: '1',
  params: { epochs: 6 },
  inputs: { noise: 'n'.repeat(64) },
  files: {},
  env: { backend: 'wasm', tfjs: '4.22.0' },
  format: FORMAT_VERSION,
  ...change,
});

function stage(change: Partial<StageRecord> = {}): StageRecord {
  return {
    type: 'train',
    key: 'k'.repeat(64),
    details: details(),
    status: 'executed',
    files: { 'model/fold-0.bin': { sha256: digest('a'), size: 10 }, 'scalers.json': { sha256: digest('b'), size: 5 } },
    metrics: { val_loss_mean: 0.5 },
    ...change,
  };
}

const input = (now: StageRecord | undefined, change: Partial<CompareInput> = {}): CompareInput => ({
  stage: 'train',
  recorded: stage(),
  now,
  byMetrics: new Set(),
  tolerance: 0.02,
  cache: { state: 'absent' },
  ...change,
});

describe('compareStage', () => {
  it('same key, same digests: bit-identical', () => {
    const c = compareStage(input(stage()));
    expect(c).toMatchObject({
      verdict: 'bit-identical',
      reproduced: true,
      comparedBy: 'digests',
      differingFiles: [],
      keyChanges: [],
    });
    expect(c.digest).toBe(c.recordedDigest);
  });

  it('same key, one file changed: differs, naming the file, whatever the metrics say', () => {
    const now = stage({ files: { ...stage().files!, 'scalers.json': { sha256: digest('c'), size: 5 } } });
    const c = compareStage(input(now));
    expect(c).toMatchObject({
      verdict: 'differs',
      reproduced: false,
      comparedBy: 'digests',
      differingFiles: ['scalers.json'],
    });
    expect(c.digest).not.toBe(c.recordedDigest);
  });

  it('a file only one side has differs too', () => {
    const now = stage({ files: { ...stage().files!, 'extra.json': { sha256: digest('d'), size: 1 } } });
    expect(compareStage(input(now)).differingFiles).toEqual(['extra.json']);
  });

  it('another backend: compared by metrics within the tolerance', () => {
    const now = stage({
      key: 'j'.repeat(64),
      details: details({ env: { backend: 'cpu', tfjs: '4.22.0' } }),
      files: { 'scalers.json': { sha256: digest('e'), size: 5 } },
      metrics: { val_loss_mean: 0.505 },
    });
    const c = compareStage(input(now));
    expect(c).toMatchObject({
      verdict: 'within-tolerance',
      reproduced: true,
      comparedBy: 'metrics',
      keyChanges: ['backend wasm → cpu'],
    });
    expect(c.metrics).toEqual([
      {
        name: 'val_loss_mean',
        recorded: 0.5,
        now: 0.505,
        delta: expect.closeTo(0.005, 12),
        relative: expect.closeTo(0.01, 12),
        within: true,
      },
    ]);
    expect(compareStage(input(now, { tolerance: 0.005 })).verdict).toBe('differs');
  });

  it('an input that changed because of the backend keeps metrics comparison; another input change does not', () => {
    const now = stage({
      key: 'j'.repeat(64),
      details: details({ inputs: { noise: 'm'.repeat(64) } }),
      files: {},
      metrics: { val_loss_mean: 0.5 },
    });
    expect(compareStage(input(now, { byMetrics: new Set(['noise']) })).comparedBy).toBe('metrics');
    const c = compareStage(input(now));
    expect(c.comparedBy).toBe('digests');
    expect(c.verdict).toBe('differs');
    expect(c.keyChanges).toEqual([expect.stringMatching(/^input noise changed/)]);
  });

  it('another implementation version is not excused by metrics, and says why the key changed', () => {
    const now = stage({ key: 'j'.repeat(64), details: details({ version: '2' }) });
    const c = compareStage(input(now));
    expect(c.comparedBy).toBe('digests');
    expect(c.keyChanges).toEqual(['implementation version 1 → 2']);
    expect(c.verdict).toBe('bit-identical'); // same bytes despite the new version
  });

  it('a stage on another backend without metrics cannot be compared: differs', () => {
    const rec = stage({ metrics: {} });
    const now = stage({ metrics: {}, details: details({ env: { backend: 'cpu', tfjs: '4.22.0' } }), files: {} });
    expect(compareStage(input(now, { recorded: rec })).verdict).toBe('differs');
  });

  it('failed re-execution, and a stage the record never completed', () => {
    const failed = compareStage(
      input(stage({ status: 'failed', files: undefined, error: { code: 'PF_STAGE_FAILED', message: 'boom' } })),
    );
    expect(failed).toMatchObject({ verdict: 'failed', reproduced: false, error: 'boom' });
    const skipped = compareStage(input(stage({ status: 'skipped', files: undefined })));
    expect(skipped.error).toMatch(/not run \(skipped\)/);
    expect(compareStage(input(undefined)).verdict).toBe('failed');
    expect(compareStage(input(stage(), { recorded: stage({ status: 'failed', files: undefined }) })).verdict).toBe(
      'not-recorded',
    );
  });

  it('carries the cache finding through untouched', () => {
    expect(compareStage(input(stage(), { cache: { state: 'corrupt', problem: 'x' } })).cache).toEqual({
      state: 'corrupt',
      problem: 'x',
    });
  });
});

describe('compareMetrics', () => {
  it('relative to the larger magnitude; a metric on one side only is never within', () => {
    const m = compareMetrics({ a: 1, b: -0.001, c: 0, d: 2 }, { a: 1.019, b: -0.00103, c: 0, e: 3 }, 0.02);
    expect(m.map((x) => [x.name, x.within])).toEqual([
      ['a', true],
      ['b', false],
      ['c', true],
      ['d', false],
      ['e', false],
    ]);
    expect(m.find((x) => x.name === 'c')!.relative).toBeNull();
  });

  it('equal non-finite values pass', () => {
    expect(compareMetrics({ x: Number.NaN, y: Infinity }, { x: Number.NaN, y: Infinity }, 0)).toMatchObject([
      { within: true },
      { within: true },
    ]);
  });
});

describe('filesDigest and cacheFinding', () => {
  it('the digest does not depend on file order', () => {
    const a = { x: { sha256: digest('1') }, y: { sha256: digest('2') } };
    const b = { y: { sha256: digest('2') }, x: { sha256: digest('1') } };
    expect(filesDigest(a)).toBe(filesDigest(b));
    expect(filesDigest(a)).not.toBe(filesDigest({ x: { sha256: digest('1') } }));
  });

  it('an intact entry whose digests are not the recorded ones is reported as differing', () => {
    const recorded = { 'X.npy': { sha256: digest('1') } };
    expect(cacheFinding({ state: 'intact', manifest: { files: recorded } }, recorded)).toEqual({ state: 'intact' });
    expect(
      cacheFinding({ state: 'intact', manifest: { files: { 'X.npy': { sha256: digest('9') } } } }, recorded),
    ).toEqual({ state: 'differs', files: ['X.npy'] });
    expect(cacheFinding({ state: 'corrupt', problem: 'p' }, recorded)).toEqual({ state: 'corrupt', problem: 'p' });
    expect(cacheFinding({ state: 'absent' }, recorded)).toEqual({ state: 'absent' });
  });
});

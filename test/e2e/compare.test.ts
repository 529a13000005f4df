import { describe, expect, it } from 'vitest';
import type { Comparison } from '../../src/report/compare-runs.js';
import type { SweepRecord } from '../../src/tracking/sweep-record.js';
import { makeProject, paramflow, runJson, runRecord, TRAINED_PIPELINE } from '../helpers/project.js';

const rowOf = (text: string, head: string) => text.split('\n').find((l) => l.startsWith(head)) ?? '';

describe('paramflow compare', () => {
  it('marks the differing param, shows deltas against the first run, and prints the --json shape', async () => {
    const dir = makeProject(TRAINED_PIPELINE);
    const a = await runJson(dir, ['--set', 'train.batch_size=16']);
    const b = await runJson(dir, ['--set', 'train.batch_size=32']);
    const [ra, rb] = [await runRecord(dir, a.runId), await runRecord(dir, b.runId)];

    const json = await paramflow(dir, ['compare', a.runId, b.runId.slice(0, 22), '--json']);
    expect(json.exitCode, String(json.stderr)).toBe(0);
    const c = JSON.parse(String(json.stdout)) as Comparison;
    expect(c.runs).toEqual([a.runId, b.runId]);
    expect(c.differing).toEqual(['train.batch_size']);
    expect(c.params['train.batch_size']).toEqual([16, 32]);
    expect(c.params.seed).toEqual([3, 3]);
    expect(c.params['simulate.n']).toEqual([64, 64]);
    expect(c.params['train.layers.0.dense.units']).toEqual([8, 8]);
    expect(Object.keys(c.metrics)[0]).toBe('cv_rmse_mean');
    expect(Object.keys(c.metrics).sort()).toEqual(Object.keys(ra.metrics).sort());
    for (const [k, m] of Object.entries(c.metrics)) {
      expect(m.values, k).toEqual([ra.metrics[k], rb.metrics[k]]);
      expect(m.delta[0], k).toBe(0);
      expect(m.delta[1], k).toBeCloseTo(rb.metrics[k]! - ra.metrics[k]!, 12);
    }

    const text = await paramflow(dir, ['compare', a.runId, b.runId]);
    expect(text.exitCode, String(text.stderr)).toBe(0);
    const out = String(text.stdout);
    expect(out).toMatch(/params: 1 of \d+ differ/);
    expect(rowOf(out, 'train.batch_size')).toMatch(/^train\.batch_size\s+≠\s+16\s+32$/);
    expect(out).not.toMatch(/^simulate\.n\b/m);
    const [va, vb] = [ra.metrics.cv_rmse_mean!, rb.metrics.cv_rmse_mean!];
    const d = vb - va;
    const sign = d > 0 ? '+' : '';
    const objective = rowOf(out, 'cv_rmse_mean');
    expect(objective).toContain('(objective, minimize)');
    expect(objective).toContain(`${Number(va.toPrecision(4))}`);
    expect(objective).toContain(
      `${Number(vb.toPrecision(4))} (${sign}${Number(d.toPrecision(4))}, ${sign}${((100 * d) / Math.abs(va)).toFixed(1)}%)`,
    );
    expect(out.indexOf('cv_rmse_mean')).toBeLessThan(out.indexOf('rmse.A.mean'));

    const all = String((await paramflow(dir, ['compare', a.runId, b.runId, '--all'])).stdout);
    expect(rowOf(all, 'simulate.n ')).toMatch(/^simulate\.n\s+64\s+64$/);
    expect(rowOf(all, 'train.batch_size')).toContain('≠');
  });

  it("a sweep ref means its trials' first-replicate runs; one run alone is refused", async () => {
    const dir = makeProject(TRAINED_PIPELINE);
    const r = await paramflow(dir, [
      'run',
      'pipeline.yaml',
      '--json',
      '--sweep',
      'train.batch_size=16,32',
      '--jobs',
      '1',
    ]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const sweep = JSON.parse(String(r.stdout)) as SweepRecord;
    const c = JSON.parse(
      String((await paramflow(dir, ['compare', sweep.sweepId.slice(0, 20), '--json'])).stdout),
    ) as Comparison;
    expect(c.runs).toEqual(sweep.trials.map((t) => t.replicates[0]!.runId));
    expect(c.differing).toEqual(['train.batch_size']);

    const alone = await paramflow(dir, ['compare', c.runs[0]!]);
    expect(alone.exitCode).toBe(2);
    expect(alone.stderr).toMatch(/error PF_BAD_REF: compare needs two or more runs/);
    const unknown = await paramflow(dir, ['compare', c.runs[0]!, 'nothing-like-this']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/PF_BAD_REF/);
  });
});

import { describe, expect, it } from 'vitest';
import { ndarray } from '../../src/stage-contract/ndarray.js';
import { MAX_POINTS, predVsTrueSpec, sampleRows } from '../../src/plots/evaluate.js';
import { compactSvg } from '../../src/plots/render.js';

describe('sampleRows', () => {
  it('keeps every row up to the cap', () => {
    expect(sampleRows(4)).toEqual([0, 1, 2, 3]);
    expect(sampleRows(MAX_POINTS)).toHaveLength(MAX_POINTS);
  });

  it('takes every n-th row above it, deterministically', () => {
    expect(sampleRows(10, 4)).toEqual([0, 3, 6, 9]);
    const rows = sampleRows(10_000);
    expect(rows).toHaveLength(5000);
    expect(rows.slice(0, 3)).toEqual([0, 2, 4]);
    expect(sampleRows(12_345).length).toBeLessThanOrEqual(MAX_POINTS);
  });
});

describe('predVsTrueSpec', () => {
  it('draws one panel per target on a shared square domain, with y = x across it', () => {
    const targets = ndarray('float32', [3, 2], Float32Array.from([1, 10, 2, 20, 3, 30]));
    const predictions = ndarray('float32', [3, 2], Float32Array.from([1, 12, 2, 18, 4, 30]));
    const folds = ndarray('int32', [3], Int32Array.from([0, 1, 0]));
    const spec = predVsTrueSpec({
      targetNames: ['A', 'B'],
      targets,
      predictions,
      folds,
      summary: { 'rmse.A.mean': 0.57735, 'r2.A.mean': 0.5 },
    }) as {
      concat: {
        title: { text: string; subtitle: string };
        layer: {
          data: { values: { t: number; p: number }[] };
          encoding: { x: { scale: { domain: number[] } }; y: { scale: { domain: number[] } } };
        }[];
      }[];
    };
    expect(spec.concat.map((p) => p.title.text)).toEqual(['A', 'B']);
    expect(spec.concat[0]!.title.subtitle).toBe('RMSE 0.577 · R² 0.5');
    const [line, points] = spec.concat[0]!.layer;
    expect(points!.data.values.map((v) => [v.t, v.p])).toEqual([
      [1, 1],
      [2, 2],
      [3, 4],
    ]);
    // Extent 1…4 padded by 3 % of 3 on each side, the same on both axes.
    expect(points!.encoding.x.scale.domain).toEqual([0.91, 4.09].map((v) => expect.closeTo(v, 9)));
    expect(points!.encoding.y.scale.domain).toEqual(points!.encoding.x.scale.domain);
    expect(line!.data.values.map((v) => v.t - v.p)).toEqual([0, 0]);
  });
});

describe('compactSvg', () => {
  it('rounds translate() coordinates to 0.1 px and leaves everything else alone', () => {
    const svg =
      '<g transform="translate(138.067929438627,144.03812191716926)"><text>0.123456789</text></g><path transform="translate(-0.04,2e-7)"/>';
    expect(compactSvg(svg)).toBe(
      '<g transform="translate(138.1,144)"><text>0.123456789</text></g><path transform="translate(0,0)"/>',
    );
  });
});

import { describe, expect, it } from 'vitest';
import { newRunId } from '../../src/tracking/run-id.js';

describe('newRunId', () => {
  it('has the documented shape: yyyymmdd-hhmmss-mmm-xxxx, in UTC', () => {
    const id = newRunId(new Date(Date.UTC(2026, 10, 25, 17, 15, 3, 42)));
    expect(id).toMatch(/^20261125-171503-042-[0-9a-f]+$/);
  });

  it('gives unique ids over many calls within one millisecond, in creation order', () => {
    const now = new Date(Date.UTC(2026, 0, 1));
    const ids = Array.from({ length: 5000 }, () => newRunId(now));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('sorts in time order for increasing dates, across every field boundary', () => {
    const times = [
      Date.UTC(2025, 11, 31, 23, 59, 59, 999),
      Date.UTC(2026, 0, 1, 0, 0, 0, 0),
      Date.UTC(2026, 0, 1, 0, 0, 0, 1),
      Date.UTC(2026, 0, 1, 0, 0, 0, 10),
      Date.UTC(2026, 0, 1, 0, 0, 0, 100),
      Date.UTC(2026, 0, 1, 0, 0, 1, 0),
      Date.UTC(2026, 0, 1, 0, 0, 9, 0),
      Date.UTC(2026, 0, 1, 0, 0, 10, 0),
      Date.UTC(2026, 0, 1, 0, 1, 0, 0),
      Date.UTC(2026, 0, 1, 9, 0, 0, 0),
      Date.UTC(2026, 0, 1, 10, 0, 0, 0),
      Date.UTC(2026, 0, 9, 0, 0, 0, 0),
      Date.UTC(2026, 0, 10, 0, 0, 0, 0),
      Date.UTC(2026, 8, 1),
      Date.UTC(2026, 9, 1),
    ];
    const ids = times.map((t) => newRunId(new Date(t)));
    expect([...ids].sort()).toEqual(ids);
  });

  it('sorts in time order for random increasing dates', () => {
    let t = Date.UTC(2020, 0, 1);
    const ids: string[] = [];
    for (let i = 0; i < 500; i++) {
      t += 1 + Math.floor(Math.random() * 3_600_000);
      ids.push(newRunId(new Date(t)));
    }
    expect([...ids].sort()).toEqual(ids);
  });
});

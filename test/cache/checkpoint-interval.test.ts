import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FolderCheckpoints } from '../../src/cache/checkpoints.js';
import { Layout } from '../../src/project/layout.js';

describe('checkpoint interval', () => {
  const layout = () => new Layout(mkdtempSync(join(tmpdir(), 'pf-ckpt-')));
  const key = 'a'.repeat(64);

  it('with interval 0 a save is always due', async () => {
    const c = new FolderCheckpoints(layout(), key, 0);
    expect(c.due()).toBe(true);
    await c.save({ 'x.bin': new Uint8Array([1, 2, 3]) });
    expect(c.due()).toBe(true);
    expect([...(await c.load())!['x.bin']!]).toEqual([1, 2, 3]);
  });

  it('with a long interval, not due right after starting or after a save', async () => {
    const c = new FolderCheckpoints(layout(), key, 3_600_000);
    expect(c.due()).toBe(false);
    await c.save({ 'x.bin': new Uint8Array([4]) });
    expect(c.due()).toBe(false);
  });
});

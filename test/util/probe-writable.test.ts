import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { probeWritable } from '../../src/util/storage-errors.js';

const dir = mkdtempSync(join(tmpdir(), 'pf-probe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('probeWritable', () => {
  it('lets stages that start together probe the same folder at once, and leaves no probe behind', async () => {
    await Promise.all(Array.from({ length: 16 }, (_, i) => probeWritable(dir, `stage ${i}`)));
    expect(readdirSync(dir)).toEqual([]);
  });
});

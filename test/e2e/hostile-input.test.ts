import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HOSTILE } from '../fuzz/hostile.js';
import { snapshotTree } from '../helpers/cli.js';
import { makeProject, paramflow } from '../helpers/project.js';

// The fuzz suite's hostile files through the real CLI: exit 2, a located error, and the
// project's .paramflow exactly as it was (test/fuzz covers the loader in-process).
describe('hostile input through the CLI', () => {
  const picked = HOSTILE.filter((h) => /alias bomb|20,000 nested|100,000-key|NUL byte/.test(h.name));

  it.each(picked.map((h) => [h.name, h] as const))(
    '%s: exit 2, located, nothing written',
    async (_, h) => {
      const dir = makeProject();
      writeFileSync(join(dir, 'hostile.yaml'), h.text());
      const before = await snapshotTree(join(dir, '.paramflow'));
      const r = await paramflow(dir, ['run', 'hostile.yaml']);
      expect(r.exitCode, String(r.stderr)).toBe(2);
      expect(r.stderr).toMatch(/^hostile\.yaml:\d+:\d+: error PF_[A-Z_]+: /);
      expect(r.stderr).not.toMatch(/internal error/);
      expect(await snapshotTree(join(dir, '.paramflow'))).toEqual(before);
    },
    60_000,
  );

  it('a non-finite sweep value: exit 2, located at the flag', async () => {
    const dir = makeProject();
    const before = await snapshotTree(join(dir, '.paramflow'));
    const r = await paramflow(dir, ['run', 'pipeline.yaml', '--sweep', 'train.epochs=1,.inf']);
    expect(r.exitCode, String(r.stderr)).toBe(2);
    expect(r.stderr).toMatch(
      /^<command line>:1:\d+: error PF_SCHEMA: sweep key train\.epochs: a value is not a finite number/,
    );
    expect(await snapshotTree(join(dir, '.paramflow'))).toEqual(before);
  });
});

import { execa } from 'execa';
import { readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, REPO } from '../helpers/project.js';

describe('the paramflow bin', () => {
  it('stays executable after a rebuild, so `npx paramflow` works in a clone after `npm test`', async () => {
    expect(statSync(CLI).mode & 0o111).not.toBe(0);
    const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
    const r = await execa(CLI, ['--version']);
    expect(r.stdout.trim()).toBe(version);
  });

  it("`./paramflow` in the clone (the README's command) is the CLI, from any folder it is called from", async () => {
    const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
    expect(statSync(join(REPO, 'paramflow')).mode & 0o111).not.toBe(0);
    const r = await execa(join(REPO, 'paramflow'), ['--version'], { cwd: tmpdir() });
    expect(r.stdout.trim()).toBe(version);
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_PIPELINE_BYTES } from '../../src/config/read-pipeline.js';
import { MAX_VALUES } from '../../src/config/yaml-source.js';
import { printedErrors, runCli } from '../helpers/cli.js';

// Issue 18 item 4: a 50 MB list took 216 s and a heap abort; /dev/zero and a > 512 MB file
// said "cannot read … check permissions". Each is now refused at once, saying what is wrong.

const dir = mkdtempSync(join(tmpdir(), 'pf-huge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function refused(args: string[]) {
  const r = await runCli(args, dir);
  expect(r.exitCode, r.stderr).toBe(2);
  const errors = printedErrors(r.stderr);
  expect(errors).toHaveLength(1);
  expect(r.stderr).not.toMatch(/permission/i);
  return errors[0]!;
}

describe('pipeline files too big to be one', () => {
  it('a 600 MB file (sparse): its size, against the cap, without reading it', async () => {
    const file = join(dir, 'big.yaml');
    writeFileSync(file, 'name: x\n');
    truncateSync(file, 600 * 1024 * 1024);
    const err = await refused(['validate', 'big.yaml']);
    expect(err.head).toContain('big.yaml: error PF_BAD_DATA: pipeline file');
    expect(err.head).toContain('is 600.0 MB; a pipeline file may be at most 10.0 MB');
  });

  it('/dev/zero: not a regular file, and more than the cap', async () => {
    const err = await refused(['validate', '/dev/zero']);
    expect(err.head).toContain('/dev/zero is not a regular file (a character device) and gives more than 10.0 MB');
  });

  it('one byte over 10 MB is refused; the cap is what the docs say', async () => {
    expect(MAX_PIPELINE_BYTES).toBe(10 * 1024 * 1024);
    const file = join(dir, 'over.yaml');
    writeFileSync(file, `name: x\ndescription: "${'a'.repeat(MAX_PIPELINE_BYTES)}"\n`);
    expect((await refused(['validate', 'over.yaml'])).head).toContain(
      'is 10.0 MB; a pipeline file may be at most 10.0 MB',
    );
  });

  it('a flow list of more values than the cap: located where the cap is passed, before parsing', async () => {
    const file = join(dir, 'list.yaml');
    writeFileSync(
      file,
      `name: x\nstages: {}\nlist: [${Array(MAX_VALUES + 10)
        .fill('1')
        .join(', ')}]\n`,
    );
    const err = await refused(['validate', 'list.yaml']);
    // name, x, stages, list: 4 values before the list; value MAX_VALUES + 1 is list item MAX_VALUES - 4 (0-based), at 3 characters each.
    expect(err.head).toBe(
      `list.yaml:3:${7 + (MAX_VALUES - 4) * 3 + 1}: error PF_YAML_SYNTAX: more than ${MAX_VALUES.toLocaleString('en-US')} keys and values in one pipeline file`,
    );
  });
});

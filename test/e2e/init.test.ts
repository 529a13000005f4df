import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { paramflow } from '../helpers/project.js';

describe('paramflow init', () => {
  it('scaffolds a project whose example pipeline validates and whose schema line points at a real file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pf-init-'));
    const init = await paramflow(dir, ['init']);
    expect(init.exitCode).toBe(0);
    expect(existsSync(join(dir, '.paramflow'))).toBe(true);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toContain('.paramflow/');
    const example = readFileSync(join(dir, 'pipelines', 'example.yaml'), 'utf8');
    const schema = /\$schema=(\S+)/.exec(example)![1]!;
    expect(existsSync(join(dir, 'pipelines', schema))).toBe(true);
    expect((await paramflow(dir, ['validate', 'pipelines/example.yaml'])).exitCode).toBe(0);
    // A whole study: it trains and scores, so its first run ends with a result.
    expect(example).toMatch(/^name: example$/m);
    expect(example).toMatch(/uses: train/);
    expect(example).toMatch(/uses: evaluate/);

    // A second init keeps the user's file and does not repeat the .gitignore line.
    await paramflow(dir, ['init']);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8').match(/\.paramflow\//g)).toHaveLength(1);
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/command-table.js';
import { buildProgram } from '../../src/cli/program.js';
import { cliReference } from '../../src/cli/reference.js';
import { REPO } from '../helpers/project.js';

describe('the command table', () => {
  it('docs/cli.md is what the table gives (run `npm run docs:cli` after changing a command)', () => {
    expect(readFileSync(join(REPO, 'docs', 'cli.md'), 'utf8')).toBe(cliReference(buildProgram()));
  });

  it('builds every command of the table, runs none on building, and passes arguments then options to it', async () => {
    const program = buildProgram();
    const names = (c: ReturnType<typeof buildProgram>, prefix: string[] = []): string[] =>
      c.commands.flatMap((s) => [[...prefix, s.name()].join(' '), ...names(s, [...prefix, s.name()])]);
    const built = names(program);
    for (const spec of COMMANDS) {
      const words = spec.usage.split(' ').filter((w) => !/^[<[]/.test(w));
      expect(built, spec.usage).toContain(words.join(' '));
    }
    let seen: number | undefined;
    const probe = buildProgram((code) => (seen = code));
    // `cache gc` without --keep is refused by commander before the command runs.
    await expect(probe.parseAsync(['node', 'paramflow', 'cache', 'gc'])).rejects.toThrow(/--keep/);
    expect(seen).toBeUndefined();
  });
});

import { describe, expect, expectTypeOf, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import type { CacheGcFlags, RunFlags, RunsFlags, WorkerFlags } from '../../src/cli/command-options.js';

// The flags type of a command is derived from its options in the table (checked by
// `npm run typecheck`, which runs before the tests); the runtime half checks that commander
// hands a command exactly those keys, with those value types.
describe('flags types derived from the option table', () => {
  it('names each option as commander does, with its value type', () => {
    expectTypeOf<RunFlags['jobs']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<RunFlags['cache']>().toEqualTypeOf<boolean>();
    expectTypeOf<RunFlags['set']>().toEqualTypeOf<string[]>();
    expectTypeOf<RunFlags['executor']>().toEqualTypeOf<'local' | 'slurm' | 'queue'>();
    expectTypeOf<RunFlags['dryRun']>().toEqualTypeOf<boolean | undefined>();
    expectTypeOf<RunsFlags['sweep']>().toEqualTypeOf<string | true | undefined>();
    expectTypeOf<CacheGcFlags['keep']>().toEqualTypeOf<number>();
    expectTypeOf<WorkerFlags['concurrency']>().toEqualTypeOf<number>();
  });

  it('commander hands `run` the keys and values the derived type names', async () => {
    let seen: Record<string, unknown> | undefined;
    const program = buildProgram();
    const run = program.commands.find((c) => c.name() === 'run')!;
    run.action((_file: string, flags: Record<string, unknown>) => {
      seen = flags;
    });
    await program.parseAsync(['run', 'p.yaml', '-j', '3', '--no-cache', '--dry-run', '--set', 'a.b=1'], {
      from: 'user',
    });
    const keys: (keyof RunFlags)[] = ['set', 'cache', 'dryRun', 'jobs', 'sweep', 'executor'];
    expect(Object.keys(seen!).sort()).toEqual([...keys].sort());
    expect(seen).toEqual({ set: ['a.b=1'], cache: false, dryRun: true, jobs: 3, sweep: [], executor: 'local' });
  });
});

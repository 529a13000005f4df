#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { EXIT, formatError, ParamflowError } from '../util/errors.js';
import { checkEnvironment } from '../util/env-vars.js';
import { storageError } from '../util/storage-errors.js';
import { guardOutputStreams } from './output/closed-streams.js';
import { buildProgram } from './program.js';

// A reader that went away (`| head -1`) must never end a run: see closed-streams.ts.
guardOutputStreams();

let exitCode: number = EXIT.ok;
const program = buildProgram((code) => (exitCode = code));

try {
  checkWorkingFolder();
  checkEnvironment(); // a bad PARAMFLOW_* value: exit 2 naming it, before any command runs
  await program.parseAsync(process.argv);
} catch (err) {
  exitCode = report(err);
}
process.exitCode = exitCode;

/** Every command resolves paths against the working folder: a deleted one (uv_cwd ENOENT) is named, not a stack trace. */
function checkWorkingFolder(): void {
  try {
    process.cwd();
  } catch (err) {
    // PWD names it when it is the deleted folder (a shell keeps it); a parent's PWD, inherited, still exists.
    const pwd = process.env.PWD;
    const where = pwd && !existsSync(pwd) ? pwd : '(deleted)';
    throw new ParamflowError(
      'PF_STORAGE',
      `the working folder ${where} no longer exists (${(err as NodeJS.ErrnoException).code ?? 'ENOENT'})`,
      {
        hint: 'cd into an existing folder (e.g. `cd ..` and back into the project), then run again',
        cause: err,
      },
    );
  }
}

function report(err: unknown): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
      return EXIT.ok;
    const [first, suggestion] = err.message.replace(/^error: /, '').split(/\n\((Did you mean [^)]*)\)/);
    const words: string[] = [];
    let cmd: Command = program;
    for (const a of process.argv.slice(2)) {
      const sub = cmd.commands.find((c) => c.name() === a);
      if (!sub) break;
      words.push(a);
      cmd = sub;
    }
    const help = `see \`${['paramflow', ...words, '--help'].join(' ')}\``;
    const hint = suggestion ? `${suggestion.replace('Did', 'did')} (${help})` : help;
    process.stderr.write(
      formatError(
        new ParamflowError('PF_BAD_FLAG', first ?? err.message, { location: { file: '<command line>' }, hint }),
      ) + '\n',
    );
    return EXIT.badInput;
  }
  if (err instanceof ParamflowError) {
    process.stderr.write(formatError(err) + '\n');
    return err.exitCode;
  }
  // A full, read-only or foreign folder met anywhere is the user's to fix, not a bug: say
  // which path and what to do (the writers that know more say it better, before this).
  const storage = storageError(err, `running \`paramflow ${process.argv.slice(2, 4).join(' ')}\``);
  if (storage) {
    process.stderr.write(formatError(storage) + '\n');
    return storage.exitCode;
  }
  process.stderr.write(
    `internal error: ${(err as Error)?.stack ?? String(err)}\n  hint: this is a bug in paramflow; please report it with the command you ran\n`,
  );
  return EXIT.failed;
}

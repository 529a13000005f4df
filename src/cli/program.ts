import { Command, Option } from 'commander';
import { packageVersion } from '../util/package-root.js';
import { COMMANDS, GROUPS, type CommandSpec } from './command-table.js';

/**
 * The CLI as a commander program, built from the command table. `done` receives each
 * command's exit code; nothing runs until the program is parsed (main.ts does that).
 */
export function buildProgram(done: (exitCode: number) => void = () => undefined): Command {
  const program = new Command('paramflow')
    .description('Run declarative YAML pipelines for simulation-based regression studies, cached by content hash.')
    .version(packageVersion())
    .exitOverride()
    // Flag errors are printed once, by main.ts, in paramflow's own format.
    .configureOutput({ outputError: () => undefined });
  // Commands by their words (`runs`, `cache`): the parents of later ones (`runs rm`, `cache ls`).
  const byPath = new Map<string, Command>([['', program]]);
  for (const spec of COMMANDS) {
    const { path, name } = split(spec.usage);
    const command = parentOf(path.slice(0, -1), byPath)
      .command(name, spec.hidden ? { hidden: true } : {})
      .description(spec.description);
    for (const o of spec.options ?? []) command.addOption(option(o));
    command.action(async (...args: unknown[]) => done(await spec.run(...args.slice(0, -1))));
    byPath.set(path.join(' '), command);
  }
  return program;
}

/** `cache push [file]` → its words (`cache`, `push`) and the last command's name with arguments. */
function split(usage: string): { path: string[]; name: string } {
  const parts = usage.split(' ');
  const first = parts.findIndex((p) => /^[<[]/.test(p));
  const path = first === -1 ? parts : parts.slice(0, first);
  return { path, name: [path[path.length - 1]!, ...(first === -1 ? [] : parts.slice(first))].join(' ') };
}

/** The command named by `words`, a group made on first use (`paramflow cache` itself does nothing). */
function parentOf(words: readonly string[], byPath: Map<string, Command>): Command {
  const known = byPath.get(words.join(' '));
  if (known) return known;
  const group = parentOf(words.slice(0, -1), byPath)
    .command(words[words.length - 1]!)
    .description(GROUPS[words.join(' ')] ?? '');
  byPath.set(words.join(' '), group);
  return group;
}

function option(o: CommandSpec['options'] extends readonly (infer O)[] | undefined ? O : never): Option {
  const made = new Option(o.flags, o.description);
  if (o.parse) made.argParser(o.parse);
  if (o.choices) made.choices(o.choices);
  if (o.default !== undefined) made.default(o.default);
  if (o.required) made.makeOptionMandatory();
  return made;
}

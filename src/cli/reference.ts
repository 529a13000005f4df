import type { Command } from 'commander';

/**
 * The CLI reference (docs/cli.md) as markdown, from the program the command table builds:
 * `npm run docs:cli` writes it, and a test fails when the file is not what this gives.
 */
export function cliReference(program: Command): string {
  const lines = [
    '# Command line reference',
    '',
    '<!-- Generated from src/cli/command-table.ts by `npm run docs:cli`; edit the table, not this file. -->',
    '',
    `${program.description()}`,
    '',
    'Exit codes: 0 done, 1 failed (a stage, a trial, MLflow), 2 bad input (nothing written), 130 interrupted.',
  ];
  const walk = (command: Command, words: string[]) => {
    const help = command.createHelp();
    for (const sub of help.visibleCommands(command)) {
      if (sub.name() === 'help') continue;
      const path = [...words, sub.name()];
      const usage = sub
        .usage()
        .replace(/^\[options\] ?/, '')
        .replace(/\[command\]$/, '<command>');
      lines.push('', `## \`paramflow ${path.join(' ')}${usage ? ` ${usage}` : ''}\``, '', text(sub.description()));
      const options = sub
        .createHelp()
        .visibleOptions(sub)
        .filter((o) => o.long !== '--help');
      if (options.length > 0) {
        lines.push('', '| option | what it does |', '|---|---|');
        for (const o of options)
          lines.push(`| \`${sub.createHelp().optionTerm(o)}\` | ${cell(sub.createHelp().optionDescription(o))} |`);
      }
      walk(sub, path);
    }
  };
  walk(program, []);
  return lines.join('\n') + '\n';
}

// Markdown outside code spans: angle brackets would read as HTML tags, a bar would end a cell.
const text = (t: string) => t.replace(/</g, '&lt;').replace(/>/g, '&gt;');
const cell = (t: string) => text(t).replace(/\|/g, '\\|').replace(/\n/g, ' ');

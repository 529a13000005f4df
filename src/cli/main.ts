#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { EXIT, formatError, ParamflowError } from '../util/errors.js';
import { packageVersion } from '../util/package-root.js';
import { checkEnvironment } from '../util/env-vars.js';
import { storageError } from '../util/storage-errors.js';
import { isMlflowError } from '../tracking/mlflow/errors.js';
import { guardOutputStreams } from './output/closed-streams.js';
import { parseTolerance } from './parse-tolerance.js';

// A reader that went away (`| head -1`) must never end a run: see closed-streams.ts.
guardOutputStreams();

// Commands load on use: a cached no-op `run` should not pay for every other command's modules.
const collect = (value: string, previous: string[]) => [...previous, value];
const wholeNumber = (name: string, min: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min}`);
  return n;
};

let exitCode: number = EXIT.ok;
const program = new Command('paramflow')
  .description('Run declarative YAML pipelines for simulation-based regression studies, cached by content hash.')
  .version(packageVersion())
  .exitOverride()
  // Flag errors are printed once, by report(), in paramflow's own format.
  .configureOutput({ outputError: () => undefined });

program
  .command('run <file>')
  .description('run a pipeline (stages whose inputs and params are unchanged come from the cache)')
  .option(
    '--set <key=value>',
    'override a value: <stage>.<param>=v, seed=…, name=…, tracking.<k>=… (repeatable)',
    collect,
    [],
  )
  .option('--no-cache', 'execute every stage even when its outputs are cached')
  .option('--dry-run', 'show what would run and why; write nothing')
  .option('-j, --jobs <n>', 'independent stages to run at once', wholeNumber('--jobs', 1))
  .option('--backend <name>', 'TensorFlow.js backend: tfjs-node, native, wasm or cpu (default: the fastest that loads)')
  .option('--sweep <key=v1,v2,…>', "sweep a key over values (grid; repeatable; adds to the file's sweep:)", collect, [])
  .option('--fail-fast', 'stop a sweep at its first failed trial')
  .option('--profile', 'time every TensorFlow.js kernel: per stage, and per kernel for stages that train or predict')
  .addOption(
    new Option(
      '--executor <name>',
      "where the run (or a sweep's trials) runs: here (local worker processes for trials), a Slurm job array (settings from executor.slurm:), or a Redis job queue served by `paramflow worker` (PARAMFLOW_REDIS_URL)",
    )
      .choices(['local', 'slurm', 'queue'])
      .default('local'),
  )
  .option('--json', 'print the run (or sweep) summary as JSON on stdout')
  .action(async (file, flags) => {
    exitCode = await (await import('./commands/run.js')).runCommand(file, flags);
  });

program
  .command('validate <file>')
  .description('check a pipeline file (with --set overrides and every sweep trial) without running anything')
  .option('--set <key=value>', 'override a value (repeatable)', collect, [])
  .option('--sweep <key=v1,v2,…>', 'sweep a key over values (repeatable)', collect, [])
  .action(async (file, flags) => {
    exitCode = await (await import('./commands/validate.js')).validateCommand(file, flags);
  });

program
  .command('status <file>')
  .description('for each stage: cached, or why it would run')
  .option('--set <key=value>', 'override a value (repeatable)', collect, [])
  .option('--backend <name>', 'TensorFlow.js backend whose cache entries to look for')
  .option('--json', 'machine-readable output')
  .action(async (file, flags) => {
    exitCode = await (await import('./commands/status.js')).statusCommand(file, flags);
  });

const runs = program
  .command('runs')
  .description('list recorded runs (newest first)')
  .option('--json', 'machine-readable output')
  .option('-n, --limit <n>', 'show at most n runs', wholeNumber('--limit', 1))
  .option('--pipeline <name>', 'only runs of this pipeline')
  .option('--sweep [ref]', 'the trials of a sweep (default: the newest), best first')
  .option('--sort <metric>', 'with --sweep: sort trials by this metric (default: the objective)')
  .action(async (flags) => {
    exitCode = await (await import('./commands/runs.js')).runsCommand(flags);
  });
runs
  .command('rm <ref...>')
  .description('remove recorded runs (by run id, run hash or stage key prefix)')
  .action(async (refs: string[]) => {
    exitCode = await (await import('./commands/runs.js')).runsRmCommand(refs);
  });

const cache = program.command('cache').description('inspect and maintain the content-addressed cache');
cache
  .command('ls')
  .description('list cache entries')
  .option('--json', 'machine-readable output')
  .action(async (flags) => {
    exitCode = await (await import('./commands/cache.js')).cacheLsCommand(flags);
  });
cache
  .command('verify')
  .description('re-read every digest; remove entries that do not match')
  .action(async () => {
    exitCode = await (await import('./commands/cache.js')).cacheVerifyCommand();
  });
cache
  .command('gc')
  .description('remove entries not used by the newest N runs (never those a live run uses)')
  .requiredOption('--keep <n>', 'keep entries used by the newest n runs', wholeNumber('--keep', 0))
  .option('--dry-run', 'list what would be removed')
  .option('--json', 'print what was removed and kept as JSON')
  .action(async (flags) => {
    exitCode = await (await import('./commands/cache.js')).cacheGcCommand(flags);
  });

cache
  .command('push [file]')
  .description(
    "upload the local entries the remote cache lacks (remote: --remote, PARAMFLOW_CACHE_REMOTE, or the file's cache.remote)",
  )
  .option('--remote <where>', 'a shared folder or s3://bucket/prefix')
  .option('--json', 'print what was pushed as JSON')
  .action(async (file, flags) => {
    exitCode = await (await import('./commands/cache-remote.js')).cachePushCommand(file, flags);
  });
cache
  .command('pull [file]')
  .description("download the remote cache's entries the local cache lacks (digests checked)")
  .option('--remote <where>', 'a shared folder or s3://bucket/prefix')
  .option('--json', 'print what was pulled as JSON')
  .action(async (file, flags) => {
    exitCode = await (await import('./commands/cache-remote.js')).cachePullCommand(file, flags);
  });

program
  .command('predict <ref> <curves>')
  .description("predict parameters of new curves (.npy [N, 2, P] or .csv x,y1,y2,…) with a run's fold models")
  .option('-o, --out <file>', 'write .csv, or .npy (means; spread in <file>.std.npy); default: CSV on stdout')
  .option('--backend <name>', "TensorFlow.js backend (default: the run's, if it loads)")
  .action(async (ref, curves, flags) => {
    exitCode = await (await import('./commands/predict.js')).predictCommand(ref, curves, flags);
  });

program
  .command('repro <ref>')
  .description(
    're-run a recorded run into a scratch cache and check, stage by stage, that it reproduces (run id, run hash, stage key, MLflow run id)',
  )
  .option(
    '--tolerance <rel>',
    'relative tolerance for metrics of stages run on another backend: 0.02 or 2%',
    parseTolerance,
  )
  .option('--strict', 'refuse to run (exit 2) when the environment differs from the recorded one')
  .option('--keep', 'keep the scratch cache for inspection (its path is printed)')
  .option('--backend <name>', 'TensorFlow.js backend (default: the recorded one, if it loads)')
  .option('-j, --jobs <n>', 'independent stages to run at once', wholeNumber('--jobs', 1))
  .option('--json', 'print the report as JSON on stdout')
  .action(async (ref, flags) => {
    exitCode = await (await import('./commands/repro.js')).reproCommand(ref, flags);
  });

program
  .command('sync [ref]')
  .description('send MLflow logging that was spooled while the server was unreachable (all runs, or one)')
  .option(
    '--show-refused',
    'list the operations the MLflow server refused for good (all runs, or one), with its reasons',
  )
  .action(async (ref, flags) => {
    exitCode = await (await import('./commands/sync.js')).syncCommand(ref, flags);
  });

program
  .command('compare <refs...>')
  .description("params side by side (differences marked) and metric deltas of runs, or of a sweep's trials")
  .option('--all', 'show every param, not only those that differ')
  .option('--json', 'machine-readable output')
  .action(async (refs: string[], flags) => {
    exitCode = await (await import('./commands/compare.js')).compareCommand(refs, flags);
  });

program
  .command('show <ref>')
  .description(
    'one run: pipeline, params, stages (keys, versions, times, metrics), artifacts, environment, MLflow link',
  )
  .option('--json', 'machine-readable output')
  .action(async (ref, flags) => {
    exitCode = await (await import('./commands/show.js')).showCommand(ref, flags);
  });

program
  .command('diff <refA> <refB>')
  .description(
    "why two runs' hashes differ: stage by stage, the first that changed by itself and those that followed; metric and environment differences",
  )
  .option('--json', 'machine-readable output')
  .action(async (refA, refB, flags) => {
    exitCode = await (await import('./commands/diff.js')).diffCommand(refA, refB, flags);
  });

program
  .command('export <ref> <dir>')
  .description("write a run's resolved pipeline.yaml (same run hash when run) with summary.md and summary.json")
  .option('--force', 'write into a folder that is not empty')
  .action(async (ref, dir, flags) => {
    exitCode = await (await import('./commands/export.js')).exportCommand(ref, dir, flags);
  });

program
  .command('report [ref]')
  .description('write a self-contained HTML report of a sweep (default: the newest) or of a run')
  .option('-o, --out <file>', 'where to write the page (default: .paramflow/reports/<id>.html)')
  .action(async (ref, flags) => {
    exitCode = await (await import('./commands/report.js')).reportCommand(ref, flags);
  });

program
  .command('stage')
  .description('write your own stages')
  .command('new <name>')
  .description('scaffold a TypeScript stage module (stages/<name>.ts) and its test')
  .option('--dir <dir>', 'folder to write into (default: stages)')
  .option('--force', 'overwrite existing files')
  .action(async (name, flags) => {
    exitCode = await (await import('./commands/stage-new.js')).stageNewCommand(name, flags);
  });

program
  .command('init [dir]')
  .description('set up a paramflow project: .paramflow/, an example pipeline, .gitignore')
  .option('--force', 'overwrite an existing example pipeline')
  .action(async (dir, flags) => {
    exitCode = await (await import('./commands/init.js')).initCommand(dir ?? '.', flags);
  });

program
  .command('worker')
  .description(
    'serve a job queue (`run --executor queue`): run its jobs (sweep trials, plain runs) in this project folder until SIGTERM/SIGINT',
  )
  .option('--concurrency <n>', 'jobs at once', wholeNumber('--concurrency', 1), 1)
  .option('--redis <url>', 'the Redis server (default: PARAMFLOW_REDIS_URL, else redis://127.0.0.1:6379)')
  .option('--queue <name>', 'the queue (default: PARAMFLOW_QUEUE, else paramflow)')
  .action(async (flags) => {
    const { queueSettings } = await import('../sweep/queue/settings.js');
    const { serveQueue } = await import('../sweep/queue/worker.js');
    exitCode = await serveQueue({
      settings: queueSettings(flags),
      concurrency: flags.concurrency,
      log: (line) => process.stderr.write(line + '\n'),
    });
  });

const queueCmd = program.command('queue').description('inspect the job queue (`run --executor queue`)');
queueCmd
  .command('status')
  .description('waiting/active/completed/failed jobs and the connected workers')
  .option('--redis <url>', 'the Redis server (default: PARAMFLOW_REDIS_URL, else redis://127.0.0.1:6379)')
  .option('--queue <name>', 'the queue (default: PARAMFLOW_QUEUE, else paramflow)')
  .option('--json', 'print the status as JSON')
  .action(async (flags) => {
    exitCode = await (await import('./commands/queue-status.js')).queueStatusCommand(flags);
  });

// A sweep's worker process (src/sweep/worker.ts); started by `run`, never by users.
program
  .command('sweep-worker', { hidden: true })
  .requiredOption('--root <dir>', 'the project whose sweep this worker serves (shown by ps)')
  .action(async () => {
    const { serveTrials } = await import('../sweep/worker.js');
    exitCode = await serveTrials();
  });

// One trial of a Slurm job array (src/sweep/slurm/task.ts); written into the sbatch script, never typed by users.
program.command('slurm-task <dir>', { hidden: true }).action(async (dir) => {
  const { runSlurmTask } = await import('../sweep/slurm/task.js');
  exitCode = await runSlurmTask(dir);
});

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
  if (isMlflowError(err)) {
    process.stderr.write(`error PF_MLFLOW: ${err.message}\n${err.hint ? `  hint: ${err.hint}\n` : ''}`);
    return EXIT.failed;
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

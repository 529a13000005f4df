import { EXIT, ParamflowError } from '../../errors.js';
import { queueExecutor, slurmExecutor } from './run-executor.js';
import { runPipeline } from '../../runner/run-pipeline.js';
import { locateOverrides } from '../overrides.js';
import { plainReporter } from '../output/plain-reporter.js';
import { ttyReporter } from '../output/tty-reporter.js';
import { printStatus } from './status.js';
import { profileTable } from '../output/profile-table.js';
import { runSweep } from '../../sweep/run-sweep.js';

export interface RunFlags {
  set: string[];
  cache: boolean;
  dryRun?: boolean;
  jobs?: number;
  json?: boolean;
  backend?: string;
  sweep?: string[];
  failFast?: boolean;
  profile?: boolean;
  executor?: string;
}

export async function runCommand(file: string, flags: RunFlags): Promise<number> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write('\ninterrupted: stopping (press Ctrl-C again to quit at once)\n');
      controller.abort(new Error('interrupted by SIGINT'));
    } else {
      process.exit(EXIT.interrupted);
    }
  };
  process.on('SIGINT', onSigint);
  try {
    const slurm = flags.executor === 'slurm' ? await slurmExecutor(flags) : flags.executor === 'queue' ? await queueExecutor(flags) : undefined;
    if (!flags.dryRun) {
      const sweep = await runSweep({
        ...slurm,
        file,
        overrides: locateOverrides(flags.set),
        sweepFlags: locateOverrides(flags.sweep ?? [], process.argv.slice(2), '--sweep'),
        jobs: slurm ? (flags.jobs ?? Number.MAX_SAFE_INTEGER) : flags.jobs,
        noCache: !flags.cache,
        backend: flags.backend,
        failFast: flags.failFast,
        signal: controller.signal,
        log: (line) => process.stderr.write(line + '\n'),
      });
      if (sweep) {
        if (flags.profile) process.stderr.write('note: --profile profiles a single run, not a sweep\n');
        if (flags.json) process.stdout.write(JSON.stringify(sweep, null, 2) + '\n');
        const b = sweep.best;
        process.stderr.write(`${sweep.status === 'FINISHED' ? '✓' : '✗'} sweep ${sweep.sweepId} ${sweep.status.toLowerCase()}${b ? `: best ${b.trial} ${sweep.spec.objective.metric} ${b.objective.mean.toPrecision(4)}` : ''} — \`paramflow runs --sweep ${sweep.sweepId.slice(0, 24)}\` compares the trials\n`);
        return sweep.status === 'KILLED' ? EXIT.interrupted : sweep.status === 'FAILED' ? EXIT.failed : EXIT.ok;
      }
    }
    if (flags.executor && flags.executor !== 'local') {
      throw new ParamflowError('PF_BAD_FLAG', `--executor ${flags.executor} runs a sweep's trials elsewhere, and this pipeline has no sweep`, {
        location: { file: '<command line>' },
        hint: 'add `sweep:` to the pipeline or pass --sweep KEY=V1,V2; a single run runs here',
      });
    }
    const reporter = process.stderr.isTTY ? ttyReporter() : plainReporter();
    const summary = await runPipeline({
      file,
      overrides: locateOverrides(flags.set),
      noCache: !flags.cache,
      dryRun: flags.dryRun,
      jobs: flags.jobs,
      backend: flags.backend,
      profile: Boolean(flags.profile),
      reporter,
      signal: controller.signal,
    });
    if (summary.explained) {
      printStatus(summary.explained, summary.runHash, Boolean(flags.json));
      return EXIT.ok;
    }
    if (summary.profile) process.stderr.write(profileTable(summary.profile, summary.plan.backend?.name, flags.jobs));
    if (flags.json) {
      const profile = summary.profile ? { profile: summary.profile } : {};
      process.stdout.write(JSON.stringify({ runId: summary.runId, runHash: summary.runHash, status: summary.status, executed: summary.executed, cached: summary.cached, ...profile }, null, 2) + '\n');
    }
    if (summary.status === 'KILLED') return EXIT.interrupted;
    if (summary.status === 'FAILED') {
      const err = summary.record?.error;
      const log = `.paramflow/runs/${summary.runId}/logs/${err?.stage ?? ''}.log`;
      if (err) process.stderr.write(`error ${err.code}: ${err.message}\n  hint: ${err.code === 'PF_STAGE_FAILED' || !err.hint ? `the stage log is in ${log}` : `${err.hint} (stage log: ${log})`}\n`);
      return EXIT.failed;
    }
    return EXIT.ok;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

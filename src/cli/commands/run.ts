import type { RunFlags } from '../command-options.js';
import { EXIT } from '../../util/errors.js';
import type { RunSummary } from '../../runner/run-pipeline.js';
import type { ElsewhereResult } from '../../sweep/run-elsewhere.js';
import { run } from '../../sweep/run.js';
import type { SweepRecord } from '../../tracking/sweep-record.js';
import { locateOverrides } from '../../config/locate-overrides.js';
import { plainReporter, resultLines } from '../../runner/plain-reporter.js';
import { Layout } from '../../project/layout.js';
import { findProjectRoot } from '../../project/root.js';
import { RunStore } from '../../tracking/run-store.js';
import { formatValues } from '../../sweep/progress.js';

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
    const result = await run({
      file,
      overrides: locateOverrides(flags.set),
      sweepFlags: flags.dryRun ? [] : locateOverrides(flags.sweep ?? [], process.argv.slice(2), '--sweep'),
      noCache: !flags.cache,
      dryRun: flags.dryRun,
      jobs: flags.jobs,
      backend: flags.backend,
      failFast: flags.failFast,
      profile: flags.profile,
      executor: flags.executor,
      // cli-progress loads only for a terminal.
      reporter: async () =>
        process.stderr.isTTY ? (await import('../output/tty-reporter.js')).ttyReporter() : plainReporter(),
      log: (line) => process.stderr.write(line + '\n'),
      signal: controller.signal,
    });
    if (result.kind === 'sweep') return await sweepEnd(result.sweep, flags);
    if (result.kind === 'elsewhere') return elsewhereEnd(result.outcome, flags);
    const summary = result.run;
    if (summary.explained) {
      const { printStatus } = await import('./status.js');
      printStatus(summary.explained, summary.runHash, Boolean(flags.json));
      if (summary.resources && !flags.json)
        process.stderr.write(`${(await import('../../pipeline/resources.js')).describeEstimate(summary.resources)}\n`);
      if (result.sweepAside)
        process.stderr.write(
          'note: this pipeline has a sweep; --dry-run explains its base run only (`paramflow validate` checks every trial)\n',
        );
      return EXIT.ok;
    }
    if (summary.profile)
      process.stderr.write(
        (await import('../output/profile-table.js')).profileTable(
          summary.profile,
          summary.plan.backend?.name,
          flags.jobs,
        ),
      );
    return finish(summary, flags);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/**
 * The end of a run, here or elsewhere: `--json`, the error of a failed run, the exit code.
 * `host`: the machine the run's stage logs are on, when not this one.
 */
function finish(
  summary: Pick<RunSummary, 'runId' | 'runHash' | 'status' | 'executed' | 'cached' | 'record' | 'profile'>,
  flags: RunFlags,
  host?: string,
): number {
  if (flags.json) {
    const profile = summary.profile ? { profile: summary.profile } : {};
    process.stdout.write(
      JSON.stringify(
        {
          runId: summary.runId,
          runHash: summary.runHash,
          status: summary.status,
          executed: summary.executed,
          cached: summary.cached,
          ...profile,
        },
        null,
        2,
      ) + '\n',
    );
  }
  if (summary.status === 'KILLED') return EXIT.interrupted;
  if (summary.status === 'FAILED') {
    const err = summary.record?.error;
    const log = `.paramflow/runs/${summary.runId}/logs/${err?.stage ?? ''}.log${host ? ` on ${host}` : ''}`;
    if (err)
      process.stderr.write(
        `error ${err.code}: ${err.message}\n  hint: ${err.code === 'PF_STAGE_FAILED' || !err.hint ? `the stage log is in ${log}` : `${err.hint} (stage log: ${log})`}\n`,
      );
    return EXIT.failed;
  }
  return EXIT.ok;
}

async function sweepEnd(sweep: SweepRecord, flags: RunFlags): Promise<number> {
  if (flags.profile) process.stderr.write('note: --profile profiles a single run, not a sweep\n');
  if (flags.json) process.stdout.write(JSON.stringify(sweep, null, 2) + '\n');
  const b = sweep.best;
  process.stderr.write(
    `${sweep.status === 'FINISHED' ? '✓' : '✗'} sweep ${sweep.sweepId} ${sweep.status.toLowerCase()}${b ? `: best ${b.trial} ${sweep.spec.objective.metric} ${b.objective.mean.toPrecision(4)}` : ''} — \`paramflow runs --sweep ${sweep.sweepId.slice(0, 24)}\` compares the trials\n`,
  );
  // The best trial's result, as a run ends with its own.
  const bestRun = sweep.trials.find((t) => t.id === b?.trial)?.replicates.find((r) => r.status === 'FINISHED')?.runId;
  if (b && bestRun) {
    const record = await new RunStore(new Layout(findProjectRoot(process.cwd()))).read(bestRun).catch(() => undefined);
    const lines = resultLines(record?.metrics ?? {});
    if (lines.length > 0)
      process.stderr.write(
        `  best trial (${formatValues(b.values, b.labels)}), run ${bestRun}:\n${lines.join('\n')}\n`,
      );
  }
  return sweep.status === 'KILLED' ? EXIT.interrupted : sweep.status === 'FAILED' ? EXIT.failed : EXIT.ok;
}

function elsewhereEnd(done: ElsewhereResult, flags: RunFlags): number {
  if (flags.profile) process.stderr.write('note: --profile profiles a run here, not one sent elsewhere\n');
  if (done.kind === 'recorded') {
    const r = done.record;
    plainReporter().runEnd({
      status: r.status,
      executed: done.executed.length,
      cached: done.cached.length,
      durationMs: done.durationMs,
      runId: r.runId,
      metrics: r.metrics,
    });
    const summary = {
      runId: r.runId,
      runHash: r.runHash,
      status: r.status,
      executed: done.executed,
      cached: done.cached,
      record: r,
    };
    return finish(summary, flags, done.logsOn);
  }
  // Bad input: the message is the located error as the job's worker formatted it.
  process.stderr.write(
    done.kind === 'bad-input'
      ? `✗ run refused as bad input where it was sent:\n${done.message}\n`
      : `✗ run ${done.kind}: ${done.message}\n`,
  );
  return done.kind === 'bad-input' ? EXIT.badInput : done.kind === 'killed' ? EXIT.interrupted : EXIT.failed;
}

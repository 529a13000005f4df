import type { ReproFlags } from '../command-options.js';
import { findProjectRoot } from '../../project/root.js';
import { EXIT } from '../../util/errors.js';
import type { StageComparison } from '../../repro/compare-stage.js';
import { formatTolerance, type EnvironmentDifference } from '../../repro/environment-check.js';
import { reproduceRun, type ReproReport } from '../../repro/reproduce.js';
import { plainReporter } from '../../runner/plain-reporter.js';
import type { Reporter } from '../../runner/reporter.js';
import { table } from '../../util/format.js';
import { ttyReporter } from '../output/tty-reporter.js';

/** `paramflow repro <ref>`: environment check, re-execution into a scratch cache, a per-stage verdict. */
export async function reproCommand(ref: string, flags: ReproFlags): Promise<number> {
  const controller = new AbortController();
  const onSigint = () => controller.abort(new Error('interrupted by SIGINT'));
  process.once('SIGINT', onSigint);
  const out = (text: string) => process.stdout.write(text + '\n');
  try {
    const report = await reproduceRun({
      ref,
      root: findProjectRoot(process.cwd()),
      tolerance: flags.tolerance,
      strict: flags.strict,
      keep: flags.keep,
      backend: flags.backend,
      jobs: flags.jobs,
      reporter: scratchRun(process.stderr.isTTY ? ttyReporter() : plainReporter()),
      signal: controller.signal,
      onPlan: ({ record: run, source }, differences, backend) => {
        // With --json, stdout is the JSON alone: the preamble goes to stderr.
        const say = flags.json ? (t: string) => process.stderr.write(t + '\n') : out;
        const from = source === 'mlflow' ? ' · read from MLflow' : '';
        say(
          `repro of run ${run.runId} · ${run.pipeline.name} · hash ${run.runHash.slice(0, 12)}${from}${backend ? ` · backend ${backend.name} (${backend.reason})` : ''}`,
        );
        say(environmentText(differences));
        if (!flags.strict || differences.length === 0)
          say("re-executing every stage into a scratch cache (the project's cache and run store are only read)…");
      },
    });
    if (flags.json) out(JSON.stringify(report, null, 2));
    else out(reportText(report));
    if (report.status === 'KILLED') return EXIT.interrupted;
    return report.reproduced ? EXIT.ok : EXIT.failed;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export function environmentText(differences: readonly EnvironmentDifference[]): string {
  if (differences.length === 0)
    return 'environment: same as recorded (paramflow, stage versions, Node, platform, backend, git)';
  const rows = differences.map((d) => [d.subject, `${d.recorded} → ${d.current}`, d.effect]);
  const fixes = differences.filter((d) => d.fix).map((d) => `  to match ${d.subject}: ${d.fix}`);
  return [
    `environment: ${differences.length} difference${differences.length === 1 ? '' : 's'} from the recorded run`,
    indent(table(['WHAT', 'RECORDED → NOW', 'LIKELY EFFECT'], rows)),
    ...fixes,
  ].join('\n');
}

export function reportText(r: ReproReport): string {
  const rows = r.stages.map((s) => [
    s.stage,
    keyCell(s),
    short(s.recordedDigest),
    short(s.digest),
    verdictCell(s, r.tolerance),
  ]);
  const lines = [table(['STAGE', 'KEY', 'RECORDED', 'NOW', 'VERDICT'], rows)];
  const numeric = r.stages.filter(
    (s) => s.metrics.length > 0 && (s.comparedBy === 'metrics' || s.verdict === 'differs'),
  );
  if (numeric.length > 0) lines.push('', metricsText(numeric, r.tolerance));
  for (const s of r.stages) {
    if (s.cache.state === 'corrupt') lines.push(`cache corrupt at ${s.stage}: ${s.cache.problem}`);
    if (s.cache.state === 'differs')
      lines.push(
        `cache corrupt at ${s.stage}: the cached entry holds other bytes than the run recorded (${s.cache.files.join(', ')})`,
      );
    if (s.keyChanges.length > 0 && s.comparedBy === 'digests')
      lines.push(`key of ${s.stage} differs from the record: ${s.keyChanges.join('; ')}`);
    if (s.error) lines.push(`${s.stage}: ${s.error}`);
  }
  lines.push(
    r.runHashMatches
      ? `run hash ${r.runHash.slice(0, 12)}: the recorded pipeline re-plans to the same hash`
      : `run hash ${r.runHash.slice(0, 12)} → ${r.runHashNow.slice(0, 12)}: stage keys differ (see KEY)`,
  );
  if (r.scratch) lines.push(`scratch cache kept in ${r.scratch}`);
  lines.push(`${r.reproduced ? '✓' : '✗'} ${r.verdict}`);
  return lines.join('\n');
}

function keyCell(s: StageComparison): string {
  return s.key === null || s.key === s.recordedKey ? short(s.recordedKey) : `${short(s.recordedKey)} → ${short(s.key)}`;
}

function verdictCell(s: StageComparison, tolerance: number): string {
  const cache = s.cache.state === 'corrupt' || s.cache.state === 'differs' ? ' · cache corrupt' : '';
  switch (s.verdict) {
    case 'bit-identical':
      return `bit-identical${cache}`;
    case 'within-tolerance': {
      const worst = largestDelta(s);
      return `within ±${formatTolerance(tolerance)} (another backend; largest Δ ${worst})${cache}`;
    }
    case 'differs':
      return s.comparedBy === 'metrics'
        ? `DIFFERS beyond ±${formatTolerance(tolerance)} (largest Δ ${largestDelta(s)})${cache}`
        : `DIFFERS: ${list(s.differingFiles)}${cache}`;
    case 'failed':
      return `FAILED${cache}`;
    case 'not-recorded':
      return `nothing recorded to compare (the run did not complete it)${cache}`;
  }
}

function metricsText(stages: readonly StageComparison[], tolerance: number): string {
  const rows = stages.flatMap((s) =>
    s.metrics.map((m) => [
      s.stage,
      m.name,
      num(m.recorded),
      num(m.now),
      m.relative === null ? (m.delta === null ? '–' : num(m.delta)) : pct(m.relative),
      m.within ? 'ok' : 'OUT',
    ]),
  );
  return `metrics (tolerance ±${formatTolerance(tolerance)}, relative)\n${table(['STAGE', 'METRIC', 'RECORDED', 'NOW', 'Δ', ''], rows)}`;
}

function largestDelta(s: StageComparison): string {
  const worst = [...s.metrics].sort((a, b) => Math.abs(b.relative ?? Infinity) - Math.abs(a.relative ?? Infinity))[0];
  return worst ? `${worst.relative === null ? '?' : pct(worst.relative)} ${worst.name}` : 'none';
}

const short = (h: string | null) => (h ? h.slice(0, 10) : '–');
const num = (v: number | null) => (v === null ? '–' : Number(v.toPrecision(6)).toString());
const pct = (v: number) => `${v >= 0 ? '+' : ''}${Number((v * 100).toPrecision(3))}%`;
const list = (xs: readonly string[]) =>
  xs.length > 3 ? `${xs.slice(0, 3).join(', ')} and ${xs.length - 3} more` : xs.join(', ');
const indent = (text: string) =>
  text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');

/**
 * The re-execution's own lines, without its run id: that run lives in the scratch store and is
 * never recorded, so an id would name nothing `show` could find. Its metrics are in the report.
 */
function scratchRun(base: Reporter): Reporter {
  const id = 'in the scratch cache (not recorded)';
  return {
    ...base,
    runStart: (info) => base.runStart({ ...info, runId: id }),
    runEnd: ({ metrics: _, ...info }) => base.runEnd({ ...info, runId: id }),
  };
}

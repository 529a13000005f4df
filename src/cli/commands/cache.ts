import type { CacheGcFlags, CacheLsFlags } from '../command-options.js';
import { Layout } from '../../project/layout.js';
import { gcCache, listEntries, verifyCache } from '../../cache/maintenance.js';
import { CacheStore } from '../../cache/store.js';
import { findProjectRoot } from '../../project/root.js';
import { EXIT } from '../../util/errors.js';
import { formatBytes, table } from '../../util/format.js';
import { listRuns, projectStore } from './runs.js';

function projectCache(): CacheStore {
  return new CacheStore(new Layout(findProjectRoot(process.cwd())));
}

export async function cacheLsCommand(flags: CacheLsFlags): Promise<number> {
  const entries = await listEntries(projectCache(), await listRuns(projectStore()));
  if (flags.json) {
    process.stdout.write(JSON.stringify(entries, null, 2) + '\n');
    return EXIT.ok;
  }
  const rows = entries.map((e) => [
    e.key.slice(0, 12),
    e.stage ?? '?',
    e.type ?? '?',
    formatBytes(e.size),
    e.state,
    (e.created ?? '').slice(0, 19).replace('T', ' '),
    String(e.usedBy.length),
  ]);
  process.stdout.write(table(['KEY', 'STAGE', 'TYPE', 'SIZE', 'STATE', 'CREATED (UTC)', 'RUNS'], rows) + '\n');
  const total = entries.reduce((a, e) => a + e.size, 0);
  process.stdout.write(`${entries.length} entries, ${formatBytes(total)}\n`);
  return EXIT.ok;
}

export async function cacheVerifyCommand(): Promise<number> {
  const report = await verifyCache(projectCache(), { remove: true });
  for (const b of report.bad)
    process.stdout.write(`bad entry ${b.key.slice(0, 12)}: ${b.problem} — removed; the next run recomputes it\n`);
  if (report.lineageUnknown.length > 0) {
    process.stdout.write(
      `${report.lineageUnknown.length} entries record no lineage (written by an older paramflow): what they were computed from cannot be checked\n`,
    );
  }
  process.stdout.write(`${report.checked} entries checked, ${report.bad.length} bad\n`);
  return report.bad.length === 0 ? EXIT.ok : EXIT.failed;
}

export async function cacheGcCommand(flags: CacheGcFlags): Promise<number> {
  const report = await gcCache(projectCache(), await listRuns(projectStore()), {
    keep: flags.keep,
    dryRun: flags.dryRun,
  });
  if (flags.json) {
    process.stdout.write(JSON.stringify({ dryRun: Boolean(flags.dryRun), ...report }, null, 2) + '\n');
    return EXIT.ok;
  }
  const freed = report.removed.reduce((a, r) => a + r.size, 0);
  const verb = flags.dryRun ? 'would remove' : 'removed';
  for (const r of report.removed) process.stdout.write(`${verb} ${r.key.slice(0, 12)} (${formatBytes(r.size)})\n`);
  process.stdout.write(
    `${verb} ${report.removed.length} entries (${formatBytes(freed)}), kept ${report.kept.length}\n`,
  );
  return EXIT.ok;
}

import type { ForceFlags } from '../command-options.js';
import { relative } from 'node:path';
import { EXIT } from '../../util/errors.js';
import { exportRun } from '../../report/export-run.js';
import { loadRun } from '../../tracking/load-run.js';
import { projectStore } from './runs.js';

/** `paramflow export <ref> <dir>`: the run's resolved pipeline (same run hash when run) and its summary. */
export async function exportCommand(ref: string, dir: string, flags: ForceFlags): Promise<number> {
  const { layout } = projectStore();
  const loaded = await loadRun(ref, { layout, env: process.env });
  const res = await exportRun(loaded, dir, { layout, force: flags.force });
  const shown = (f: string) => relative(process.cwd(), f) || '.';
  process.stdout.write(
    `exported run ${loaded.record.runId} (hash ${loaded.record.runHash.slice(0, 12)}) to ${shown(res.dir)}: ${res.files.map(shown).join(', ')}\n`,
  );
  for (const n of res.notes) process.stderr.write(`note: ${n}\n`);
  process.stdout.write(`rerun: paramflow run ${shown(res.files[0]!)}\n`);
  return EXIT.ok;
}

import type { ReportFlags } from '../command-options.js';
import { relative } from 'node:path';
import { EXIT } from '../../util/errors.js';
import { writeReport } from '../../report/write-report.js';
import { listRuns, projectStore } from './runs.js';

/** `paramflow report [ref] [--out file.html]`: writes the page and prints its path. */
export async function reportCommand(ref: string | undefined, flags: ReportFlags): Promise<number> {
  const store = projectStore();
  const warn = (m: string) => process.stderr.write(`warning: ${m}\n`);
  const r = await writeReport({ store, ref, out: flags.out, runs: () => listRuns(store), warn });
  process.stderr.write(`report of ${r.kind} ${r.id} (self-contained: open it in any browser)\n`);
  const rel = relative(process.cwd(), r.path);
  process.stdout.write(`${rel.startsWith('..') || rel === '' ? r.path : rel}\n`);
  return EXIT.ok;
}

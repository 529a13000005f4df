import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { Layout } from '../project/layout.js';
import { ParamflowError } from '../util/errors.js';
import type { LoadedRun } from '../tracking/load-run.js';
import type { RunRecord } from '../tracking/run-record.js';
import { describeRun, type RunDescription } from './describe-run.js';
import { summaryMarkdown } from './summary-markdown.js';

export const EXPORT_FILES = ['pipeline.yaml', 'summary.md', 'summary.json'] as const;

/** What `export` writes to summary.json: the run as `show --json` describes it, and how to rerun it. */
export interface ExportSummary {
  run: RunDescription;
  rerun: { command: string; runHash: string; notes: string[] };
}

export interface ExportResult {
  dir: string;
  files: string[];
  notes: string[];
}

/**
 * Writes a run's resolved pipeline (`paramflow run <dir>/pipeline.yaml` gives the same run
 * hash: the hash covers the resolved pipeline and stage keys, not the file's name or
 * place) and a summary in Markdown and JSON. Refuses a non-empty folder unless `force`.
 */
export async function exportRun(
  loaded: LoadedRun,
  dir: string,
  o: { layout: Layout; force?: boolean },
): Promise<ExportResult> {
  const abs = resolve(dir);
  await checkTarget(abs, dir, Boolean(o.force));
  const record = loaded.record;
  const notes = rerunNotes(record);
  const summary: ExportSummary = {
    run: await describeRun(loaded, o.layout),
    rerun: { command: 'paramflow run pipeline.yaml', runHash: record.runHash, notes },
  };
  await mkdir(abs, { recursive: true });
  await writeFile(join(abs, 'pipeline.yaml'), exportedPipeline(record));
  await writeFile(join(abs, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  await writeFile(join(abs, 'summary.md'), summaryMarkdown(summary));
  return { dir: abs, files: EXPORT_FILES.map((f) => join(abs, f)), notes };
}

/** The resolved pipeline as a pipeline file: every default written out, each stage's seed explicit. */
export function exportedPipeline(record: RunRecord): string {
  const { name, ...rest } = record.resolved;
  // tracking.experiment is not part of the run hash; kept so the rerun logs beside the original.
  const tracking = record.pipeline.experiment !== name ? { tracking: { experiment: record.pipeline.experiment } } : {};
  const header = [
    `# Exported by paramflow from run ${record.runId} (${record.pipeline.file}).`,
    `# The resolved pipeline: overrides applied (${record.options?.overrides?.length ? record.options.overrides.join(' ') : 'none'}), defaults filled in,`,
    `# each stage's seed written out. \`paramflow run\` on this file gives run hash`,
    `# ${record.runHash}`,
  ];
  return `${header.join('\n')}\n${stringify({ name, ...tracking, ...rest })}`;
}

/** What stands between the export and the same run hash, in words (empty when nothing does). */
function rerunNotes(record: RunRecord): string[] {
  const notes: string[] = [];
  const stages = Object.entries(record.stages);
  for (const [stage, s] of stages) {
    const files = Object.keys(s.details.files ?? {});
    if (files.length)
      notes.push(
        `stage ${stage} reads ${files.join(', ')} (relative to the original project root): its key is the same only with the same files at the same paths`,
      );
  }
  const backends = stages.filter(([, s]) => s.details.env.backend);
  if (backends.length) {
    const env = backends[0]![1].details.env;
    notes.push(
      `the keys of ${backends.map(([n]) => n).join(', ')} include the TensorFlow.js backend (${env.backend}, tfjs ${env.tfjs ?? '?'}): rerun with that backend (\`--backend ${env.backend}\`) for the same run hash`,
    );
  }
  return notes;
}

async function checkTarget(abs: string, written: string, force: boolean): Promise<void> {
  const st = await stat(abs).catch(() => undefined);
  if (!st) return;
  if (!st.isDirectory()) {
    throw new ParamflowError('PF_BAD_FLAG', `${written} exists and is not a folder`, {
      location: { file: '<command line>' },
      hint: 'name a new or empty folder to export into',
    });
  }
  const entries = await readdir(abs);
  if (entries.length > 0 && !force) {
    throw new ParamflowError(
      'PF_BAD_FLAG',
      `${written} is not empty (${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}: ${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''})`,
      {
        location: { file: '<command line>' },
        hint: `name a new or empty folder, or add --force to overwrite ${EXPORT_FILES.join(', ')} in it`,
      },
    );
  }
}

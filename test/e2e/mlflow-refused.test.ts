import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlflowDouble } from '../helpers/mlflow-double.js';
import { paramflow, quickProject } from '../helpers/project.js';

// Issue 18 item 13: operations MLflow refuses for good (400) are acknowledged so the spool
// moves on; `runs`, `show`, `sync` and the export must not call such a run "synced".
const REFUSED = /1 operation refused by the server \(`paramflow sync --show-refused [0-9a-f-]+` lists them\)/;

let double: MlflowDouble;
beforeAll(async () => {
  double = await MlflowDouble.start();
});
afterAll(async () => {
  await double.down();
});

describe('operations the MLflow server refused', () => {
  it('are counted everywhere the MLflow state is shown, and listed by `sync --show-refused`', async () => {
    const dir = quickProject();
    const env = { MLFLOW_TRACKING_URI: double.url };
    double.fault({ kind: 'status', status: 400, errorCode: 'INVALID_PARAMETER_VALUE', match: 'log-batch', times: 1 });
    const run = await paramflow(dir, ['run', 'pipeline.yaml', '--json', '--set', 'train.epochs=2'], { env });
    expect(run.exitCode, String(run.stderr)).toBe(0);
    const { runId } = JSON.parse(String(run.stdout)) as { runId: string };
    expect(String(run.stderr)).toMatch(/MLflow refused .*injected fault/);
    expect(String(run.stderr)).toMatch(REFUSED);

    const runs = await paramflow(dir, ['runs'], { env });
    expect(String(runs.stdout)).toMatch(/refused 1/);
    expect(String(runs.stdout)).not.toMatch(/\bsynced\b/);
    expect(String(runs.stdout)).toMatch(REFUSED);
    const listed = JSON.parse(String((await paramflow(dir, ['runs', '--json'], { env })).stdout)) as {
      mlflow: { state: string; refused: number };
    }[];
    expect(listed[0]!.mlflow).toMatchObject({ state: 'refused', refused: 1 });

    const show = await paramflow(dir, ['show', runId], { env });
    expect(String(show.stdout)).toMatch(new RegExp(`mlflow .*${REFUSED.source}`));
    const shown = JSON.parse(String((await paramflow(dir, ['show', runId, '--json'], { env })).stdout)) as {
      mlflowRefused: number;
    };
    expect(shown.mlflowRefused).toBe(1);

    const out = join(mkdtempSync(join(tmpdir(), 'pf-refused-')), 'export');
    expect((await paramflow(dir, ['export', runId, out], { env })).exitCode).toBe(0);
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).toMatch(REFUSED);

    // A later sync has nothing to send, and says so without calling the run "synced".
    const sync = await paramflow(dir, ['sync'], { env });
    expect(sync.exitCode, String(sync.stderr)).toBe(0);
    expect(String(sync.stdout)).toMatch(new RegExp(`${runId}: refused, sent 0; ${REFUSED.source}`));

    const refused = await paramflow(dir, ['sync', '--show-refused', runId], { env });
    expect(refused.exitCode, String(refused.stderr)).toBe(0);
    expect(String(refused.stdout)).toMatch(
      new RegExp(
        `${runId}: 1 operation refused by the server \\(kept in \\.paramflow/runs/${runId}/mlflow-sync\\.json\\)`,
      ),
    );
    expect(String(refused.stdout)).toMatch(/ {2}#\d+ .*log-batch.*: .*400.*injected fault/);
    const none = await paramflow(dir, ['sync', '--show-refused', 'nosuchrun'], { env });
    expect(String(none.stdout)).toMatch(/no operation was refused by the MLflow server for nosuchrun/);
  }, 120_000);
});

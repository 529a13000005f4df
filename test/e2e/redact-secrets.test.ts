import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Layout } from '../../src/project/layout.js';
import type { SweepRecord } from '../../src/tracking/sweep-record.js';
import { SweepStore } from '../../src/sweep/store.js';
import { redactSecrets } from '../../src/util/redact.js';
import { MlflowDouble } from '../helpers/mlflow-double.js';
import { paramflow, quickProject } from '../helpers/project.js';
import { hasRedis, startRedis } from '../helpers/redis.js';

// Issue 18 item 9: credentials typed into a tracking URI (`--set tracking.uri=…`,
// MLFLOW_TRACKING_URI) must not reach anything paramflow writes or prints. Each secret is
// a distinct string, so a hit names where it came from.
const SECRETS = ['SETPASS1x', 'QTOKEN2x', 'ENVPASS3x', 'ENVKEY4x', 'PASS5x', 'FTPPASS6x', 'BADENV7x', 'REDISPW8x'];

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/** `where: secret` for every secret in the texts and files. */
function leaks(texts: Record<string, string>, dirs: string[]): string[] {
  const found: string[] = [];
  for (const [where, text] of Object.entries(texts))
    for (const s of SECRETS) if (text.includes(s)) found.push(`${where}: ${s}`);
  for (const d of dirs)
    for (const f of filesUnder(d)) {
      if (statSync(f).size > 50 * 1024 * 1024) continue;
      const text = readFileSync(f).toString('latin1');
      for (const s of SECRETS) if (text.includes(s)) found.push(`${f}: ${s}`);
    }
  return found;
}

describe('redactSecrets', () => {
  it.each([
    ['tracking.uri=http://alice:pw@host:5000/mlf?token=abc&x=1', 'tracking.uri=http://***@host:5000/mlf?token=***&x=1'],
    ['http://user:p@ss@[bad/x', 'http://***@[bad/x'],
    ['https://ghp_abc@github.com/o/r.git', 'https://***@github.com/o/r.git'],
    [
      's3://b/k?X-Amz-Signature=abc&key=k1&api_key=k2#access_token=k3',
      's3://b/k?X-Amz-Signature=***&key=***&api_key=***#access_token=***',
    ],
    ['Authorization: Bearer abcdef123', 'Authorization: Bearer ***'],
    ['header Basic YWxpY2U6cGFzcw==', 'header Basic ***'],
    ['train.api_token=abc MLFLOW_TRACKING_PASSWORD=def', 'train.api_token=*** MLFLOW_TRACKING_PASSWORD=***'],
  ])('%s', (text, want) => expect(redactSecrets(text)).toBe(want));

  it('leaves ordinary texts alone', () => {
    for (const t of [
      'tracking.uri=http://127.0.0.1:5000',
      'cache key: 0a1b2c',
      'sigma=3 keys=4 monkey=1',
      'Basic statistics',
      'train.epochs=5 seed=7',
    ]) {
      expect(redactSecrets(t)).toBe(t);
    }
  });
});

describe('sweep records', () => {
  it('are stored redacted, while the live record keeps the texts its trials run with', async () => {
    const root = mkdtempSync(join(tmpdir(), 'pf-redact-sweep-'));
    const store = new SweepStore(new Layout(root));
    const overrides = ['tracking.uri=http://alice:SETPASS1x@host/?token=QTOKEN2x', 'train.epochs=2'];
    const record = { sweepId: 's1', status: 'FINISHED', overrides, trials: [] } as unknown as SweepRecord;
    await store.write(record);
    expect(record.overrides).toEqual(overrides);
    expect(leaks({}, [root])).toEqual([]);
    expect((await store.list())[0]!.overrides).toEqual(['tracking.uri=http://***@host/?token=***', 'train.epochs=2']);
  });
});

describe('no credentials in what a run writes or prints', () => {
  let double: MlflowDouble;
  beforeAll(async () => {
    double = await MlflowDouble.start();
  });
  afterAll(async () => {
    await double.down();
  });

  it('run (env URI, then --set URI), runs, show, --json, export, report, sync, and bad URIs in errors', async () => {
    const dir = quickProject();
    const out = mkdtempSync(join(tmpdir(), 'pf-redact-'));
    const host = double.url.replace(/^http:\/\//, '');
    const envUri = `http://bob:ENVPASS3x@${host}/?api_key=ENVKEY4x`;
    const setUri = `tracking.uri=http://alice:SETPASS1x@${host}/?token=QTOKEN2x`;
    const texts: Record<string, string> = {};
    const cli = async (name: string, args: string[], env: Record<string, string> = {}, exit = 0) => {
      const r = await paramflow(dir, args, { env: { MLFLOW_TRACKING_URI: envUri, ...env } });
      texts[`${name} stdout`] = String(r.stdout);
      texts[`${name} stderr`] = String(r.stderr);
      expect(r.exitCode, `${name}: ${String(r.stderr)}`).toBe(exit);
      return String(r.stdout);
    };

    const first = JSON.parse(await cli('run env', ['run', 'pipeline.yaml', '--json', '--set', 'train.epochs=2'])) as {
      runId: string;
    };
    const second = JSON.parse(
      await cli('run set', ['run', 'pipeline.yaml', '--json', '--set', 'train.epochs=2', '--set', setUri]),
    ) as { runId: string };
    // The credentials were used (sent to the server), not dropped.
    expect(
      double.requests.some((q) => q.authorization === `Basic ${Buffer.from('alice:SETPASS1x').toString('base64')}`),
    ).toBe(true);
    expect(
      double.requests.some((q) => q.authorization === `Basic ${Buffer.from('bob:ENVPASS3x').toString('base64')}`),
    ).toBe(true);

    const listed = await cli('runs --all', ['runs', '--all']); // the second run, a no-op rerun, is a row of its own
    expect(listed).toMatch(/tracking\.uri=http:\/\/\*\*\*@127\.0\.0\.1:\d+\/\?token=\*\*\*/); // still says which server
    await cli('runs --json', ['runs', '--json']);
    await cli('show', ['show', second.runId]);
    await cli('show --json', ['show', second.runId, '--json']);
    await cli('compare', ['compare', first.runId, second.runId]);
    await cli('export', ['export', second.runId, join(out, 'export')]);
    await cli('report', ['report', second.runId, '--out', join(out, 'report.html')]);
    await cli('sync', ['sync']);
    // Invalid URIs are echoed in errors: with '@' in the password, in IPv6 brackets, another scheme, from the environment.
    await cli(
      'validate bad',
      ['validate', 'pipeline.yaml', '--set', 'tracking.uri=http://carol:BAD@PASS5x@[::1'],
      {},
      2,
    );
    await cli(
      'validate ftp',
      ['validate', 'pipeline.yaml', '--set', 'tracking.uri=ftp://dave:FTPPASS6x@host/x'],
      {},
      2,
    );
    await cli('run bad env', ['run', 'pipeline.yaml'], { MLFLOW_TRACKING_URI: 'http://erin:BADENV7x@[zz' }, 2);
    expect(texts['validate bad stderr']).toMatch(/http:\/\/\*\*\*@\[::1/);

    expect(leaks(texts, [join(dir, '.paramflow'), out])).toEqual([]);
  }, 120_000);
});

describe('a Redis URL with a password, unreachable', () => {
  it('is redacted in the error', async () => {
    const down = await paramflow(quickProject(), ['queue', 'status', '--redis', 'redis://:REDISPW8x@127.0.0.1:1']);
    expect(down.exitCode).toBe(2);
    expect(String(down.stderr)).toMatch(/cannot reach Redis at redis:\/\/\*\*\*@127\.0\.0\.1:1/);
    expect(leaks({ down: String(down.stdout) + String(down.stderr) }, [])).toEqual([]);
  }, 60_000);
});

// Needs /usr/bin/redis-server (skipped without it, like the queue e2e tests).
describe.skipIf(!hasRedis)('a Redis URL with a password', () => {
  it('is redacted by `queue status` (text and --json) and in its errors', async () => {
    const redis = await startRedis();
    try {
      const dir = quickProject();
      const url = `redis://:REDISPW8x@127.0.0.1:${redis.port}`; // redis-server without a password accepts it (ioredis warns)
      const text = await paramflow(dir, ['queue', 'status', '--redis', url]);
      const json = await paramflow(dir, ['queue', 'status', '--json'], { env: { PARAMFLOW_REDIS_URL: url } });
      expect(text.exitCode, String(text.stderr)).toBe(0);
      expect(json.exitCode, String(json.stderr)).toBe(0);
      expect(String(text.stdout)).toMatch(new RegExp(`at redis://\\*\\*\\*@127\\.0\\.0\\.1:${redis.port}`));
      expect(
        leaks({ text: String(text.stdout) + String(text.stderr), json: String(json.stdout) + String(json.stderr) }, []),
      ).toEqual([]);
    } finally {
      await redis.stop();
    }
  }, 60_000);
});

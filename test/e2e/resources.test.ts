import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeProject, paramflow, REPO } from '../helpers/project.js';

// A run whose arrays cannot fit is refused before it writes anything (exit 2), with the option that would make it fit.

function seedProject(): string {
  const dir = makeProject();
  copyFileSync(join(REPO, 'pipelines', 'seed-study.yaml'), join(dir, 'pipeline.yaml'));
  return dir;
}

const nothingWritten = (dir: string) => expect(readdirSync(join(dir, '.paramflow'))).toEqual([]);

describe('a run that would not fit', { timeout: 120_000 }, () => {
  it('on the disk: refused, located at the stage that writes most, nothing written', async () => {
    const dir = seedProject();
    // 10⁴ curves of 1000 points: X and Y 40 MB each, noisy Y 40 MB more (noise passes X through).
    const r = await paramflow(dir, ['run', 'pipeline.yaml'], { env: { PARAMFLOW_DISK_BYTES: '100000000' } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/PF_TOO_LARGE/);
    expect(r.stderr).toMatch(
      /write about 114\.\d MiB to the cache \(simulate X 38\.1 MiB, simulate Y 38\.1 MiB, noise Y 38\.1 MiB/,
    );
    expect(r.stderr).toMatch(/pipeline\.yaml:\d+:\d+/);
    expect(r.stderr).toMatch(/--set simulate\.n=/);
    nothingWritten(dir);
    // With room for it, the same run goes on (the estimate is not an upper bound pulled from the air).
    const ok = await paramflow(dir, ['run', 'pipeline.yaml', '--set', 'train.epochs=1'], {
      env: { PARAMFLOW_DISK_BYTES: '130000000' },
    });
    expect(ok.exitCode, String(ok.stderr)).toBe(0);
  });

  it('in memory: refused with the option that makes it fit, and with that option it runs', async () => {
    const dir = seedProject();
    const env = { PARAMFLOW_MEMORY_BYTES: '650000000' };
    const r = await paramflow(dir, ['run', 'pipeline.yaml', '--set', 'train.epochs=1'], { env });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(
      /would need about 70\d\.\d MiB of memory: arrays under PARAMFLOW_STREAM_BYTES \(256\.0 MiB\) are held in memory/,
    );
    expect(r.stderr).toMatch(/lower PARAMFLOW_STREAM_BYTES/);
    nothingWritten(dir);
    const ok = await paramflow(dir, ['run', 'pipeline.yaml', '--set', 'train.epochs=1'], {
      env: { ...env, PARAMFLOW_STREAM_BYTES: '1000000' },
    });
    expect(ok.exitCode, String(ok.stderr)).toBe(0);
    expect(existsSync(join(dir, '.paramflow', 'cache'))).toBe(true);
  });

  it('a dry run states the estimate, and refuses what a run would refuse', async () => {
    const dir = seedProject();
    const dry = await paramflow(dir, ['run', 'pipeline.yaml', '--dry-run']);
    expect(dry.exitCode, String(dry.stderr)).toBe(0);
    expect(dry.stderr).toMatch(
      /estimate: writes about 114\.\d MiB to the cache \([\d.]+ \w+ free on .+\), holds about 70\d\.\d MiB in memory \(limit [\d.]+ GiB: /,
    );
    const refused = await paramflow(dir, ['run', 'pipeline.yaml', '--dry-run'], {
      env: { PARAMFLOW_DISK_BYTES: '1000000' },
    });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/PF_TOO_LARGE/);
    nothingWritten(dir);
  });
});

import { execa } from 'execa';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SweepRecord } from '../../src/tracking/sweep-record.js';
import { makeProject, paramflow, REPO } from '../helpers/project.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);

/** src/href attributes (and CSS url()s) that point at a network address. */
const EXTERNAL = /\b(?:src|href|xlink:href)\s*=\s*["']?\s*(?:https?:)?\/\/|url\(\s*["']?\s*(?:https?:)?\/\//i;

let dir: string;
let sweep: SweepRecord;
let reportPath: string;
let html: string;

beforeAll(async () => {
  dir = makeProject();
  copyFileSync(join(REPO, 'pipelines', 'quick.yaml'), join(dir, 'pipeline.yaml'));
  const small = ['--set', 'simulate.n=240', '--set', 'simulate.x.points=40', '--set', 'train.epochs=2'];
  const r = await paramflow(dir, ['run', 'pipeline.yaml', '--json', ...small, '--sweep', 'train.batch_size=16,32']);
  expect(r.exitCode, String(r.stderr)).toBe(0);
  sweep = JSON.parse(String(r.stdout)) as SweepRecord;
  const rep = await paramflow(dir, ['report']);
  expect(rep.exitCode, String(rep.stderr)).toBe(0);
  reportPath = resolve(dir, String(rep.stdout).trim());
  html = readFileSync(reportPath, 'utf8');
});

describe('paramflow report', () => {
  it('writes the newest sweep to .paramflow/reports/<id>.html, self-contained, with its trials and plots', () => {
    expect(reportPath).toBe(join(dir, '.paramflow', 'reports', `${sweep.sweepId}.html`));
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain(`<title>Sweep ${sweep.sweepId}</title>`);
    expect(html).not.toMatch(EXTERNAL);
    expect(html).not.toMatch(/<script\b/i);
    expect(html).not.toMatch(/<(link|iframe|object|embed)\b/i);
    for (const t of sweep.trials) expect(html).toContain(t.id);
    // objective vs train.batch_size, the best trial's learning curves and its pred-vs-true.
    expect(html.match(/<svg\b/g)!.length).toBeGreaterThanOrEqual(3);
    expect(html).toContain('cv_rmse_mean vs train.batch_size');
    expect(html).toContain('Predicted vs true');
    // Best first: the best trial's row comes before the other.
    const best = sweep.best!.trial;
    const other = sweep.trials.find((t) => t.id !== best)!.id;
    expect(html.indexOf(`<td>${best}</td>`)).toBeLessThan(html.indexOf(`<td>${other}</td>`));
  });

  it('reports a single run by ref, to --out', async () => {
    const runId = sweep.trials[0]!.replicates[0]!.runId!;
    const out = join(dir, 'one-run.html');
    const r = await paramflow(dir, ['report', runId.slice(0, 24), '--out', out]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout).trim()).toBe('one-run.html');
    const page = readFileSync(out, 'utf8');
    expect(page).toContain(`<title>Run ${runId}</title>`);
    expect(page).toContain('train.batch_size');
    expect(page).toContain('cv_rmse_mean');
    expect(page).toMatch(/<svg\b/);
    expect(page).not.toMatch(EXTERNAL);
  });

  it('an unknown ref is refused (exit 2)', async () => {
    const r = await paramflow(dir, ['report', 'sweep-nothing']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/error PF_BAD_REF: no sweep matches `sweep-nothing`/);
  });

  // Debian's Chromium, if installed (`apt-get install chromium`); CI without it skips this check.
  it.skipIf(!hasChromium)(
    `loads in headless Chromium without console errors${hasChromium ? '' : ` (skipped: no ${CHROMIUM})`}`,
    async () => {
      const profile = mkdtempSync(join(tmpdir(), 'pf-chromium-'));
      const r = await execa(
        CHROMIUM,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--no-first-run',
          `--user-data-dir=${profile}`,
          '--enable-logging=stderr',
          '--v=0',
          '--dump-dom',
          `file://${reportPath}`,
        ],
        { reject: false, timeout: 45_000 },
      ).finally(() => rmSync(profile, { recursive: true, force: true }));
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const dom = String(r.stdout);
      expect(dom).toContain(`<title>Sweep ${sweep.sweepId}</title>`);
      expect(dom).toContain(`<h1>Sweep ${sweep.sweepId}</h1>`);
      expect(dom.match(/<svg\b/g)!.length).toBe(html.match(/<svg\b/g)!.length);
      // Console messages (CSP violations, parse or script errors) are logged as `…:CONSOLE…`.
      expect(
        String(r.stderr)
          .split('\n')
          .filter((l) => /:CONSOLE/.test(l)),
      ).toEqual([]);
    },
  );
  if (!hasChromium) console.warn(`report.test: ${CHROMIUM} not found, so the headless-browser load check is skipped`);
});

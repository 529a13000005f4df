import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlflowDouble } from '../../helpers/mlflow-double.js';
import { readTranscripts, replay } from '../../helpers/transcripts.js';

// The test double answers every recorded request as the real server did: same status,
// same error_code, same kind of body (JSON keys, HTML page, item counts).

const transcripts = readTranscripts('transcripts.jsonl');

// Endpoints only the web UI uses: paramflow never calls them, the double does not emulate them.
const UI_ONLY = ['/get-artifact', 'get-history-bulk-interval'];

describe('the MLflow test double against the recorded transcripts', () => {
  let double: MlflowDouble;
  const ids = new Map<string, string>();
  const swap = (s: string) => [...ids].reduce((acc, [rec, real]) => acc.split(rec).join(real), s);

  beforeAll(async () => {
    double = await MlflowDouble.start();
  });
  afterAll(() => double.down());

  it('has the 58 recorded pairs', () => {
    expect(transcripts).toHaveLength(58);
  });

  for (const t of transcripts) {
    it.skipIf(UI_ONLY.some((u) => t.path.includes(u)))(`${t.status} ${t.label}`, async () => {
      const { res, text } = await replay(double.url, t, swap);
      expect(res.status).toBe(t.status);
      if (t.response_content_type.startsWith('text/html')) {
        expect(res.headers.get('content-type')).toContain('text/html');
        if (t.status >= 400) expect(text).toMatch(/^<!doctype html>/);
        return;
      }
      if (!t.response_content_type.startsWith('application/json')) {
        expect(text).toBe(t.response_body);
        return;
      }
      const got = JSON.parse(text) as Record<string, unknown>;
      const want = t.response_body as Record<string, unknown>;
      if ('error_code' in want) {
        expect(got.error_code).toBe(want.error_code);
        return;
      }
      expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
      for (const [k, v] of Object.entries(want)) {
        if (Array.isArray(v)) expect((got[k] as unknown[]).length, k).toBe(v.length);
      }
      const run = (want.run as { info?: { run_id?: string } } | undefined)?.info?.run_id;
      if (run && t.label.startsWith('runs/create')) ids.set(run, (got.run as { info: { run_id: string } }).info.run_id);
    });
  }
});

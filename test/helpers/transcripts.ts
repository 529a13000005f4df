import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One recorded request and the real MLflow server's answer (test/fixtures/mlflow/README.md). */
export interface Transcript {
  label: string;
  method: string;
  path: string;
  request_content_type: string | null;
  request_body: unknown;
  status: number;
  response_content_type: string;
  response_body: unknown;
}

export function readTranscripts(file: string): Transcript[] {
  return readFileSync(join(import.meta.dirname, '..', 'fixtures', 'mlflow', file), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Transcript);
}

/** Sends a recorded request to `url` (its ids swapped by `swap`); the response's status and text. */
export async function replay(url: string, t: Transcript, swap: (s: string) => string) {
  const body =
    t.request_body === null
      ? undefined
      : typeof t.request_body === 'string'
        ? swap(t.request_body)
        : swap(JSON.stringify(t.request_body));
  const res = await fetch(url + swap(t.path), {
    method: t.method,
    ...(body !== undefined ? { body, headers: { 'content-type': t.request_content_type ?? 'application/json' } } : {}),
  });
  return { res, text: await res.text() };
}

import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { authFromEnv, MlflowAuth } from '../../../src/tracking/mlflow/auth.js';
import { MlflowClient } from '../../../src/tracking/mlflow/client.js';
import { MlflowError } from '../../../src/tracking/mlflow/errors.js';
import { redactUri } from '../../../src/tracking/mlflow/uri.js';
import { MlflowDouble } from '../../helpers/mlflow-double.js';
import { fakeClock } from '../../helpers/mlflow-kit.js';

const TOKEN = 'tok-SECRET-1234567890';
const USER = 'alice';
const PASSWORD = 'pw-SECRET-0987654321';
const BASIC = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');

describe('credentials from the environment', () => {
  it('MLFLOW_TRACKING_TOKEN → Bearer, winning over a username and password', () => {
    const a = authFromEnv({
      MLFLOW_TRACKING_TOKEN: TOKEN,
      MLFLOW_TRACKING_USERNAME: USER,
      MLFLOW_TRACKING_PASSWORD: PASSWORD,
    });
    expect(a?.scheme).toBe('Bearer');
    expect(a?.header()).toBe(`Bearer ${TOKEN}`);
  });

  it('MLFLOW_TRACKING_USERNAME / PASSWORD → Basic', () => {
    expect(authFromEnv({ MLFLOW_TRACKING_USERNAME: USER, MLFLOW_TRACKING_PASSWORD: PASSWORD })?.header()).toBe(
      `Basic ${BASIC}`,
    );
  });

  it('user:password in the URI, when the environment has none; nothing at all otherwise', () => {
    expect(authFromEnv({}, { user: USER, password: PASSWORD })?.header()).toBe(`Basic ${BASIC}`);
    expect(authFromEnv({})).toBeUndefined();
  });

  it('never shows the secret when serialised, inspected or scrubbed', () => {
    for (const [a, secrets] of [
      [MlflowAuth.bearer(TOKEN), [TOKEN]],
      [MlflowAuth.basic(USER, PASSWORD), [PASSWORD, BASIC]],
    ] as const) {
      const shown = [
        JSON.stringify({ a }),
        inspect(a),
        inspect({ nested: a }, { showHidden: true }),
        a.scrub(`x ${secrets.join(' ')} y`),
      ].join(' ');
      for (const s of secrets) expect(shown).not.toContain(s);
    }
  });

  it('redacts user:password from URIs shown or stored', () => {
    expect(redactUri(`https://${USER}:${PASSWORD}@mlflow.example:5000/prefix/?token=${TOKEN}`)).toBe(
      'https://mlflow.example:5000/prefix',
    );
  });
});

describe('auth headers on the wire', () => {
  let double: MlflowDouble;
  beforeAll(async () => {
    double = await MlflowDouble.start();
  });
  afterAll(() => double.down());
  beforeEach(() => {
    double.requireAuthorization = undefined;
    double.clearFaults();
  });

  it('sends Bearer and Basic headers', async () => {
    for (const [env, header] of [
      [{ MLFLOW_TRACKING_TOKEN: TOKEN }, `Bearer ${TOKEN}`],
      [{ MLFLOW_TRACKING_USERNAME: USER, MLFLOW_TRACKING_PASSWORD: PASSWORD }, `Basic ${BASIC}`],
    ] as const) {
      double.requireAuthorization = header;
      const c = new MlflowClient({ uri: double.url, auth: authFromEnv(env) });
      await c.getExperiment('0');
      expect(double.requests.at(-1)?.authorization).toBe(header);
      await c.close();
    }
  });

  it('a refused credential is a 401 with a hint, and the message carries no secret', async () => {
    double.requireAuthorization = 'Bearer the-right-one';
    const c = new MlflowClient({ uri: double.url, auth: MlflowAuth.bearer(TOKEN) });
    const err = (await c.getExperiment('0').catch((e: unknown) => e)) as MlflowError;
    expect(err.status).toBe(401);
    expect(err.hint).toContain('MLFLOW_TRACKING_TOKEN');
    expect(`${err.message} ${err.hint} ${inspect(err)}`).not.toContain(TOKEN);
    await c.close();
  });

  it('scrubs a secret the server echoes back in an error message', async () => {
    const c = new MlflowClient({ uri: double.url, auth: MlflowAuth.basic(USER, PASSWORD) });
    const exp = await c.ensureExperiment('echo');
    const run = await c.createRun({ experimentId: exp.experiment_id, startTime: 1 });
    await c.logBatch(run.info.run_id, { params: [{ key: 'p', value: PASSWORD }] }); // a user's own mistake
    const err = (await c
      .logBatch(run.info.run_id, { params: [{ key: 'p', value: 'other' }] })
      .catch((e: unknown) => e)) as MlflowError;
    expect(err.errorCode).toBe('INVALID_PARAMETER_VALUE');
    expect(err.message).toContain('***');
    expect(err.message).not.toContain(PASSWORD);
    await c.close();
  });

  it('an unreachable server with credentials in its URI: the message names it without them', async () => {
    const gone = await MlflowDouble.start();
    const port = new URL(gone.url).port;
    await gone.down();
    const c = new MlflowClient({
      uri: `http://${USER}:${PASSWORD}@127.0.0.1:${port}`,
      clock: fakeClock(),
      retry: { retries: 0 },
    });
    const err = (await c.getExperiment('0').catch((e: unknown) => e)) as MlflowError;
    expect(err.message).toContain(`cannot reach http://127.0.0.1:${port}`);
    expect(`${err.message} ${String(err.cause)} ${inspect(err)}`).not.toContain(PASSWORD);
    await c.close();
  });
});

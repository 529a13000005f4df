import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { Layout } from '../../project/layout.js';
import { crashPoint } from '../../util/crash.js';
import type { MlflowClient } from './client.js';
import { MlflowError } from './errors.js';
import { logInputs } from './model-api.js';
import { sendLoggedModel } from './send-model.js';
import { pointKey } from './flatten.js';
import type { ParentRef, SpooledOp } from './ops.js';
import { DEFAULT_RETRY, withRetry, type RetryPolicy } from './retry.js';
import { writeState, type SyncState } from './spool.js';
import { mlflowStatus, type Metric } from './types.js';

/**
 * The MLflow id of a parent run that lives in another spool (a sweep's run), or null when
 * there is none to link (that sweep is not tracked). Throws while it cannot be known yet:
 * the op waits, and a later drain or `paramflow sync` tries again.
 */
export type ParentResolver = (
  ref: ParentRef,
  ctx: { server: string; signal: AbortSignal; deadline?: number; experimentId?: string },
) => Promise<string | null>;

export interface SenderOptions {
  client: MlflowClient;
  layout: Layout;
  /** The spool's sync state file (`mlflow-sync.json`). */
  statePath: string;
  /** The tag naming what the spool logs (`paramflow.run_id` = the run id), to find its runs again. */
  identity: { tag: string; value: string };
  /** For create-run ops whose parent is a ParentRef. */
  resolveParent?: ParentResolver;
  retry?: Partial<RetryPolicy>;
  log?: (line: string) => void;
  /** Tests: runs after an op reached the server and before its ack is recorded. */
  afterSend?: (op: SpooledOp) => void | Promise<void>;
}

export interface DrainResult {
  sent: number;
  rejected: number;
  /** Why draining stopped early (the server is down, the deadline passed, an op is blocked). */
  error?: Error;
}

// Ops that would make a duplicate if a lost answer made us send them twice: before sending
// one, its seq is recorded as in flight; resending it first asks the server what it has.
const checkFirst = (op: SpooledOp): boolean =>
  op.op === 'create-run' || (op.op === 'log-batch' && op.metrics.length > 0);

// Failures after which the request may have been applied even though it "failed".
const ambiguous = (err: MlflowError): boolean =>
  err.kind === 'network' || (err.kind === 'status' && (err.status === 500 || err.status === 502 || err.status === 504));

// Replays spooled ops in seq order against the server, recording each acknowledgement in
// the sync state so that any later sender resumes exactly where this one stopped.
export class SpoolSender {
  /** An op is being retried (the server failed it at least once): a flush then gives it a short last try. */
  retrying = false;
  /** No retry starts after this (epoch ms); the tracker sets it when it flushes. */
  deadline?: number;
  readonly abort = new AbortController();
  private readonly policy: RetryPolicy;

  constructor(
    private readonly o: SenderOptions,
    readonly state: SyncState,
  ) {
    this.policy = { ...DEFAULT_RETRY, ...o.retry };
  }

  /** Sends every op of `ops()` past the acknowledged seq; `ops` is re-read, so ops spooled meanwhile go too. */
  async drain(ops: () => readonly SpooledOp[]): Promise<DrainResult> {
    const result: DrainResult = { sent: 0, rejected: 0 };
    for (;;) {
      const op = ops().find((x) => x.seq > this.state.acked);
      if (!op) return result;
      if (this.abort.signal.aborted) return { ...result, error: new Error('stopped') };
      try {
        await this.apply(op);
        result.sent++;
      } catch (err) {
        const permanent = err instanceof MlflowError ? err.permanent : isLocalFileError(err);
        const blocking = op.op === 'experiment' || op.op === 'create-run';
        if (!permanent || blocking) {
          this.state.lastError = (err as Error).message;
          await this.save();
          return { ...result, error: err as Error };
        }
        this.state.rejected.push({ seq: op.seq, op: describeOp(op), message: (err as Error).message });
        this.o.log?.(`MLflow refused ${describeOp(op)}: ${(err as Error).message}`);
        result.rejected++;
      }
      this.state.acked = op.seq;
      delete this.state.inFlight;
      delete this.state.lastError;
      await this.save();
    }
  }

  private async apply(op: SpooledOp): Promise<void> {
    const wasInFlight = this.state.inFlight === op.seq;
    if (checkFirst(op) && !wasInFlight) {
      this.state.inFlight = op.seq;
      await this.save();
    }
    let check = wasInFlight;
    await withRetry(
      async () => {
        try {
          await this.send(op, check);
        } catch (err) {
          if (err instanceof MlflowError && ambiguous(err)) check = true;
          throw err;
        }
      },
      {
        policy: this.policy,
        clock: this.o.client.http.clock,
        deadline: this.deadline,
        signal: this.abort.signal,
        onRetry: () => void (this.retrying = true),
      },
    );
    this.retrying = false;
    crashPoint('mlflow-sent');
    await this.o.afterSend?.(op);
  }

  /** One attempt; `check`: the op may already be on the server, send only what is missing. */
  private async send(op: SpooledOp, check: boolean): Promise<void> {
    const c = this.o.client;
    const call = { retry: false, deadline: this.deadline, signal: this.abort.signal };
    switch (op.op) {
      case 'experiment': {
        const exp = await c.ensureExperiment(op.name, call);
        this.state.experimentId = exp.experiment_id;
        return;
      }
      case 'create-run': {
        if (this.state.runs[op.scope]) return;
        const experimentId = this.requireExperiment();
        if (check) {
          const found = await this.findRun(experimentId, op.scope);
          if (found) return;
        }
        const parent =
          typeof op.parent === 'string'
            ? this.requireRun(op.parent).runId
            : op.parent
              ? await this.resolveParent(op.parent)
              : undefined;
        const tags = parent ? [...op.tags, { key: 'mlflow.parentRunId', value: parent }] : op.tags;
        const run = await c.createRun(
          {
            experimentId,
            runName: op.runName,
            startTime: op.startTime,
            tags,
            ...(op.userId ? { userId: op.userId } : {}),
          },
          call,
        );
        this.state.runs[op.scope] = {
          runId: run.info.run_id,
          ...(run.info.artifact_uri ? { artifactUri: run.info.artifact_uri } : {}),
        };
        return;
      }
      case 'log-batch': {
        const run = this.requireRun(op.scope);
        const metrics = check ? await this.missingMetrics(run.runId, op.metrics) : op.metrics;
        if (metrics.length + op.params.length + op.tags.length === 0) return;
        await c.logBatch(run.runId, { metrics, params: op.params, tags: op.tags }, call);
        return;
      }
      case 'artifact': {
        const run = this.requireRun(op.scope);
        const file = isAbsolute(op.file) ? op.file : join(this.o.layout.root, op.file);
        const body = await readFile(file);
        await c.uploadArtifact(run.artifactUri ?? '', op.path, body, op.contentType, call);
        return;
      }
      case 'update-run': {
        await c.updateRun(
          this.requireRun(op.scope).runId,
          { status: mlflowStatus(op.status), endTime: op.endTime },
          call,
        );
        return;
      }
      case 'log-inputs': {
        await logInputs(c, this.requireRun(op.scope).runId, op.datasets, call);
        return;
      }
      case 'logged-model': {
        await sendLoggedModel(
          { client: c, root: this.o.layout.root, experimentId: this.requireExperiment(), log: this.o.log },
          this.requireRun(op.scope).runId,
          op,
          check,
          call,
        );
        return;
      }
    }
  }

  /** The batch's points the server does not have yet (the server keeps duplicates: we must not send them). */
  private async missingMetrics(runId: string, metrics: Metric[]): Promise<Metric[]> {
    if (metrics.length === 0) return metrics;
    const present = new Set<string>();
    for (const key of new Set(metrics.map((m) => m.key))) {
      for (const m of await this.o.client.getMetricHistory(runId, key, {
        retry: false,
        deadline: this.deadline,
        signal: this.abort.signal,
      })) {
        present.add(pointKey(m));
      }
    }
    return metrics.filter((m) => !present.has(pointKey(m)));
  }

  /** A run this op created before its answer was lost: found by its paramflow tags. */
  private async findRun(experimentId: string, scope: string): Promise<boolean> {
    // Run and sweep ids and scopes are paramflow's own ([0-9a-z-]): no quoting needed.
    const filter = `tags.${this.o.identity.tag} = '${this.o.identity.value}' AND tags.paramflow.scope = '${scope}'`;
    const page = await this.o.client.searchRuns(
      { experimentIds: [experimentId], filter, maxResults: 10 },
      { retry: false, deadline: this.deadline, signal: this.abort.signal },
    );
    const run = page.items[0];
    if (!run) return false;
    this.state.runs[scope] = {
      runId: run.info.run_id,
      ...(run.info.artifact_uri ? { artifactUri: run.info.artifact_uri } : {}),
    };
    return true;
  }

  private async resolveParent(ref: ParentRef): Promise<string | undefined> {
    if (!this.o.resolveParent) return undefined;
    const id = await this.o.resolveParent(ref, {
      server: this.o.client.server,
      signal: this.abort.signal,
      ...(this.deadline !== undefined ? { deadline: this.deadline } : {}),
      ...(this.state.experimentId ? { experimentId: this.state.experimentId } : {}),
    });
    return id ?? undefined;
  }

  private requireExperiment(): string {
    if (this.state.experimentId) return this.state.experimentId;
    throw new MlflowError('no MLflow experiment yet for this run (the spool lacks its experiment line)', {
      kind: 'status',
      endpoint: 'spool',
      status: 400,
    });
  }

  private requireRun(scope: string): { runId: string; artifactUri?: string } {
    const run = this.state.runs[scope];
    if (run) return run;
    throw new MlflowError(`no MLflow run for \`${scope}\` (the spool lacks its create-run line)`, {
      kind: 'status',
      endpoint: 'spool',
      status: 400,
    });
  }

  private save(): Promise<void> {
    return writeState(this.o.statePath, this.state);
  }
}

export function describeOp(op: SpooledOp): string {
  switch (op.op) {
    case 'experiment':
      return `experiment ${op.name}`;
    case 'create-run':
      return `create run ${op.scope}`;
    case 'log-batch':
      return `log-batch #${op.seq} to ${op.scope} (${op.metrics.length} metrics, ${op.params.length} params, ${op.tags.length} tags)`;
    case 'artifact':
      return `artifact ${op.path} of ${op.scope}`;
    case 'update-run':
      return `set ${op.scope} ${op.status}`;
    case 'log-inputs':
      return `datasets ${op.datasets.map((d) => d.dataset.name).join(', ')} of ${op.scope}`;
    case 'logged-model':
      return `logged model ${op.name} of ${op.scope} (${op.files.length} files)`;
  }
}

function isLocalFileError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES';
}

import type { QueueStatusFlags } from '../command-options.js';
import { ParamflowError } from '../../util/errors.js';
import { queueSettings } from '../../sweep/queue/settings.js';
import { queueStatus } from '../../sweep/queue/status.js';
import { redactSecrets } from '../../util/redact.js';

/** `paramflow queue status [--json]`. An unreachable Redis is bad input (exit 2). */
export async function queueStatusCommand(flags: QueueStatusFlags): Promise<number> {
  const settings = queueSettings(flags);
  let s;
  try {
    // A Redis URL may carry a password (redis://:pw@host): shown redacted, like every stored or printed value.
    s = { ...(await queueStatus(settings)), redis: redactSecrets(settings.redis) };
  } catch (err) {
    throw new ParamflowError('PF_BAD_FLAG', `cannot reach Redis at ${settings.redis} (${(err as Error).message})`, {
      location: { file: flags.redis ? '--redis' : 'PARAMFLOW_REDIS_URL' },
      hint: 'start redis-server, or pass --redis redis://host:port',
    });
  }
  if (flags.json) {
    process.stdout.write(JSON.stringify(s, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(`queue ${s.queue} at ${s.redis}\n`);
  process.stdout.write(
    `  waiting ${s.waiting}  active ${s.active}  delayed ${s.delayed}  completed ${s.completed}  failed ${s.failed}\n`,
  );
  process.stdout.write(
    `  workers ${s.workers.length}${s.workers.map((w) => `\n    ${w.name || '(unnamed)'}${w.addr ? ` ${w.addr}` : ''}`).join('')}\n`,
  );
  return 0;
}

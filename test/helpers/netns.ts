import { spawnSync } from 'node:child_process';

/** Runs `ip ...`; throws with its stderr when it fails. */
function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.status}`}`);
}

/** Runs `ip ...` where failing is fine (removing what may not exist). */
function ipQuiet(...args: string[]): void {
  spawnSync('ip', args, { stdio: 'ignore' });
}

/**
 * Why network namespaces cannot be used here, or undefined when they can. Probed once by
 * really adding a namespace with a veth pair into it: CI containers often run as root
 * yet lack CAP_SYS_ADMIN / CAP_NET_ADMIN, so being root proves nothing on its own.
 */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).error) return '`ip` (iproute2) is not installed';
  const ns = `pf-probe-${process.pid}`;
  const veth = `pfp${process.pid}`;
  try {
    ip('netns', 'add', ns);
    ip('link', 'add', `${veth}r`, 'type', 'veth', 'peer', 'name', `${veth}n`, 'netns', ns);
    return undefined;
  } catch (e) {
    return `cannot create a network namespace with a veth link (${(e as Error).message})`;
  } finally {
    ipQuiet('link', 'del', `${veth}r`);
    ipQuiet('netns', 'del', ns);
  }
}

/** One namespace linked to the root namespace by a veth pair: `hostAddr` on the root side, `nsAddr` inside. */
export interface Netns {
  name: string;
  hostAddr: string;
  nsAddr: string;
}

/**
 * Namespace `i` of this test process. Names carry the pid so runs side by side do not clash;
 * the /24 is picked from the pid too, as two runs with the same subnet would route each other's traffic.
 */
function names(i: number) {
  const subnet = ((process.pid % 120) * 2 + i) % 254;
  return { name: `pf-${process.pid}-${i}`, veth: `pfv${process.pid}-${i}`, prefix: `10.231.${subnet}` };
}

/** Removes namespace `i` and its link (deleting either end of a veth pair deletes both). */
export function removeNetns(i: number): void {
  const { name, veth } = names(i);
  ipQuiet('link', 'del', `${veth}r`);
  ipQuiet('netns', 'del', name);
}

/** Creates namespace `i` (after removing any leftover of the same name) with loopback up and its veth link. */
export function createNetns(i: number): Netns {
  removeNetns(i);
  const { name, veth, prefix } = names(i);
  const [host, inside] = [`${veth}r`, `${veth}n`];
  ip('netns', 'add', name);
  ip('link', 'add', host, 'type', 'veth', 'peer', 'name', inside, 'netns', name);
  ip('addr', 'add', `${prefix}.1/24`, 'dev', host);
  ip('link', 'set', host, 'up');
  ip('-n', name, 'addr', 'add', `${prefix}.2/24`, 'dev', inside);
  ip('-n', name, 'link', 'set', inside, 'up');
  ip('-n', name, 'link', 'set', 'lo', 'up');
  return { name, hostAddr: `${prefix}.1`, nsAddr: `${prefix}.2` };
}

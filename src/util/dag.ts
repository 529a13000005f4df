import { ParamflowError, type SourceLocation } from './errors.js';

export interface DagNode {
  name: string;
  needs: readonly string[];
}

/**
 * Stages in dependency order (ties kept in file order). A cycle is an error naming
 * the whole loop, located at the first stage in it.
 */
export function topologicalOrder<T extends DagNode>(
  nodes: readonly T[],
  locate: (stage: string) => SourceLocation,
): T[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const state = new Map<string, 'visiting' | 'done'>();
  const order: T[] = [];
  const stack: string[] = [];
  const visit = (n: T): void => {
    const s = state.get(n.name);
    if (s === 'done') return;
    if (s === 'visiting') {
      const loop = [...stack.slice(stack.indexOf(n.name)), n.name];
      throw new ParamflowError('PF_STAGE_CYCLE', `stages depend on each other in a cycle: ${loop.join(' → ')}`, {
        location: locate(loop[0]!),
        hint: `remove one of these from \`needs\` so the data flows one way`,
      });
    }
    state.set(n.name, 'visiting');
    stack.push(n.name);
    for (const dep of n.needs) {
      const d = byName.get(dep);
      if (d) visit(d);
    }
    stack.pop();
    state.set(n.name, 'done');
    order.push(n);
  };
  for (const n of nodes) visit(n);
  return order;
}

/** Every stage downstream of `names` (inclusive). */
export function downstreamOf(nodes: readonly DagNode[], names: Iterable<string>): Set<string> {
  const out = new Set(names);
  let grew = true;
  while (grew) {
    grew = false;
    for (const n of nodes) {
      if (!out.has(n.name) && n.needs.some((d) => out.has(d))) {
        out.add(n.name);
        grew = true;
      }
    }
  }
  return out;
}

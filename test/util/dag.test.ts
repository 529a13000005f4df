import { describe, expect, it } from 'vitest';
import { ParamflowError } from '../../src/util/errors.js';
import { downstreamOf, topologicalOrder, type DagNode } from '../../src/util/dag.js';

const node = (name: string, ...needs: string[]): DagNode => ({ name, needs });
const locate = (stage: string) => ({ file: 'p.yaml', line: stage.charCodeAt(0), column: 1 });
const names = (nodes: readonly DagNode[]) => nodes.map((n) => n.name);

function cycleError(nodes: DagNode[]): ParamflowError {
  try {
    topologicalOrder(nodes, locate);
  } catch (err) {
    return err as ParamflowError;
  }
  throw new Error('expected a cycle error');
}

describe('topologicalOrder', () => {
  it('puts every stage after the stages it needs', () => {
    const nodes = [
      node('evaluate', 'train', 'noise', 'folds'),
      node('train', 'noise', 'folds'),
      node('folds', 'noise'),
      node('noise', 'simulate'),
      node('simulate'),
    ];
    const order = names(topologicalOrder(nodes, locate));
    expect(order).toHaveLength(nodes.length);
    for (const n of nodes) for (const d of n.needs) expect(order.indexOf(d)).toBeLessThan(order.indexOf(n.name));
    expect(order).toEqual(['simulate', 'noise', 'folds', 'train', 'evaluate']);
  });

  it('keeps file order for stages that do not depend on each other', () => {
    expect(names(topologicalOrder([node('c'), node('a'), node('b')], locate))).toEqual(['c', 'a', 'b']);
    // Two branches off one root: the branches come in the order they were written.
    const order = names(topologicalOrder([node('root'), node('zeta', 'root'), node('alpha', 'root')], locate));
    expect(order).toEqual(['root', 'zeta', 'alpha']);
  });

  it('returns the node objects it was given, each once, even with diamonds', () => {
    const nodes = [node('d', 'b', 'c'), node('b', 'a'), node('c', 'a'), node('a')];
    const order = topologicalOrder(nodes, locate);
    expect(new Set(order).size).toBe(4);
    for (const n of order) expect(nodes).toContain(n);
    expect(order[0]!.name).toBe('a');
    expect(order[3]!.name).toBe('d');
  });

  it('does not mutate its input', () => {
    const nodes = [node('b', 'a'), node('a')];
    topologicalOrder(nodes, locate);
    expect(names(nodes)).toEqual(['b', 'a']);
  });

  it('refuses a cycle with PF_STAGE_CYCLE naming the loop, located at a stage in it', () => {
    const err = cycleError([node('a', 'c'), node('b', 'a'), node('c', 'b')]);
    expect(err).toBeInstanceOf(ParamflowError);
    expect(err.code).toBe('PF_STAGE_CYCLE');
    expect(err.isBadInput).toBe(true);
    const loop = /cycle: (.*)$/.exec(err.message)?.[1]?.split(' → ');
    expect(loop).toBeDefined();
    // Closed, and each step follows a `needs` edge.
    expect(loop![0]).toBe(loop![loop!.length - 1]);
    expect(new Set(loop).size).toBe(3);
    const needs = new Map([
      ['a', 'c'],
      ['b', 'a'],
      ['c', 'b'],
    ]);
    for (let i = 0; i + 1 < loop!.length; i++) expect(needs.get(loop![i]!)).toBe(loop![i + 1]);
    expect(err.location).toEqual(locate(loop![0]!));
    expect(err.hint).toMatch(/needs/);
  });

  it('names only the stages on the loop, not those leading into it', () => {
    const err = cycleError([node('entry', 'x'), node('x', 'y'), node('y', 'x'), node('lonely')]);
    expect(err.code).toBe('PF_STAGE_CYCLE');
    expect(err.message).toMatch(/x → y → x|y → x → y/);
    expect(err.message).not.toContain('entry');
    expect(err.message).not.toContain('lonely');
  });

  it('finds a two-stage cycle', () => {
    expect(cycleError([node('a', 'b'), node('b', 'a')]).message).toMatch(/a → b → a/);
  });

  it('ignores needs that are not nodes (the loader reports those)', () => {
    expect(names(topologicalOrder([node('a', 'ghost'), node('b', 'a')], locate))).toEqual(['a', 'b']);
  });
});

describe('downstreamOf', () => {
  const nodes = [
    node('simulate'),
    node('noise', 'simulate'),
    node('folds', 'noise'),
    node('train', 'noise', 'folds'),
    node('other'),
  ];

  it('includes the named stages and everything that depends on them, transitively', () => {
    expect(downstreamOf(nodes, ['noise'])).toEqual(new Set(['noise', 'folds', 'train']));
    expect(downstreamOf(nodes, ['simulate'])).toEqual(new Set(['simulate', 'noise', 'folds', 'train']));
  });

  it('is just the stage itself for a leaf', () => {
    expect(downstreamOf(nodes, ['train'])).toEqual(new Set(['train']));
    expect(downstreamOf(nodes, ['other'])).toEqual(new Set(['other']));
  });

  it('finds downstream stages even when they are listed before their needs', () => {
    const reversed = [...nodes].reverse();
    expect(downstreamOf(reversed, ['simulate'])).toEqual(new Set(['simulate', 'noise', 'folds', 'train']));
  });

  it('takes the union for several names, and nothing for none', () => {
    expect(downstreamOf(nodes, ['folds', 'other'])).toEqual(new Set(['folds', 'train', 'other']));
    expect(downstreamOf(nodes, [])).toEqual(new Set());
  });
});

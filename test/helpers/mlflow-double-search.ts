import { ApiError, type DoubleRun } from './mlflow-double-store.js';

// runs/search and experiments/search filters and order_by, the subset paramflow and its
// tests use: `<entity>.<key> <op> <value>` clauses joined by AND.

const ENTITIES: Record<string, 'metric' | 'parameter' | 'tag' | 'attribute'> = {
  metric: 'metric',
  metrics: 'metric',
  param: 'parameter',
  params: 'parameter',
  parameter: 'parameter',
  parameters: 'parameter',
  tag: 'tag',
  tags: 'tag',
  attribute: 'attribute',
  attributes: 'attribute',
  attr: 'attribute',
  run: 'attribute',
};

interface Clause {
  entity: 'metric' | 'parameter' | 'tag' | 'attribute';
  key: string;
  op: string;
  value: string | number;
}

const CLAUSE =
  /^(\w+)\.(`[^`]+`|"[^"]+"|[\w.]+)\s*(=|!=|<=|>=|<|>|LIKE|ILIKE)\s*('(?:[^']*)'|"(?:[^"]*)"|-?[\d.]+(?:e-?\d+)?)$/i;

export function parseFilter(filter: string | undefined): Clause[] {
  if (!filter || filter.trim() === '') return [];
  return filter.split(/\s+and\s+/i).map((part) => {
    const m = CLAUSE.exec(part.trim());
    if (!m)
      throw new ApiError(
        400,
        'INVALID_PARAMETER_VALUE',
        `Invalid clause(s) in filter string: ${part
          .trim()
          .split(/\s+/)
          .map((t) => `'${t}'`)
          .join(', ')}`,
      );
    const entity = ENTITIES[m[1]!.toLowerCase()];
    if (!entity) throw badEntity(m[1]!);
    const raw = m[4]!;
    const value = /^['"]/.test(raw) ? raw.slice(1, -1) : Number(raw);
    return { entity, key: m[2]!.replace(/^[`"]|[`"]$/g, ''), op: m[3]!.toUpperCase(), value };
  });
}

export function matchesFilter(run: DoubleRun, clauses: Clause[]): boolean {
  return clauses.every((c) => {
    const actual = fieldOf(run, c.entity, c.key);
    if (actual === undefined) return false;
    const a = typeof c.value === 'number' ? Number(actual) : String(actual);
    switch (c.op) {
      case '=':
        return a === c.value;
      case '!=':
        return a !== c.value;
      case '<':
        return a < c.value;
      case '>':
        return a > c.value;
      case '<=':
        return a <= c.value;
      case '>=':
        return a >= c.value;
      default: {
        const re = new RegExp(
          `^${String(c.value)
            .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
            .replace(/%/g, '.*')
            .replace(/_/g, '.')}$`,
          c.op === 'ILIKE' ? 'i' : '',
        );
        return re.test(String(actual));
      }
    }
  });
}

export function sortRuns(runs: DoubleRun[], orderBy: string[] | undefined): DoubleRun[] {
  const keys = (orderBy ?? []).map((o) => {
    const m = /^(\w+)\.(`[^`]+`|[\w.]+)(?:\s+(ASC|DESC))?$/i.exec(o.trim());
    if (!m) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `Invalid order_by clause '${o}'`);
    const entity = ENTITIES[m[1]!.toLowerCase()];
    if (!entity) throw badEntity(m[1]!);
    return { entity, key: m[2]!.replace(/`/g, ''), desc: (m[3] ?? 'ASC').toUpperCase() === 'DESC' };
  });
  const sorted = [...runs].sort((x, y) => y.start_time - x.start_time);
  for (const k of [...keys].reverse()) {
    sorted.sort((x, y) => {
      const a = fieldOf(x, k.entity, k.key);
      const b = fieldOf(y, k.entity, k.key);
      if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? 1 : -1;
      const cmp = a < b ? -1 : a > b ? 1 : 0;
      return k.desc ? -cmp : cmp;
    });
  }
  return sorted;
}

function fieldOf(run: DoubleRun, entity: Clause['entity'], key: string): string | number | undefined {
  switch (entity) {
    case 'parameter':
      return run.params.get(key);
    case 'tag':
      return run.tags.get(key);
    case 'metric': {
      const pts = run.metrics.filter((m) => m.key === key);
      const last = pts.sort((a, b) => a.step - b.step || a.timestamp - b.timestamp).at(-1);
      return last?.value;
    }
    case 'attribute': {
      const attrs: Record<string, string | number | undefined> = {
        run_id: run.run_id,
        run_name: run.run_name,
        status: run.status,
        start_time: run.start_time,
        end_time: run.end_time,
        user_id: run.user_id,
      };
      return attrs[key];
    }
  }
}

function badEntity(word: string): ApiError {
  return new ApiError(
    400,
    'INVALID_PARAMETER_VALUE',
    `Invalid entity type '${word}'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']`,
  );
}

// The pipeline file and stage reference (docs/reference.md) as markdown, from the JSON Schemas
// that validate them: `npm run docs:schemas` writes it, and a test fails when the file is not
// what this gives. Nested keys are listed as dotted paths (`x.start`), as `--set` writes them.

type Schema = {
  title?: string;
  description?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  required?: string[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  $ref?: string;
  definitions?: Record<string, Schema>;
};

/** Deeper keys than this are left to their parent's description. */
const MAX_DEPTH = 3;

export function schemaReference(files: ReadonlyMap<string, object>): string {
  const pipeline = files.get('pipeline.schema.json') as Schema;
  const lines = [
    '# Pipeline file reference',
    '',
    '<!-- Generated from schemas/*.schema.json by `npm run docs:schemas`; edit the schemas, not this file. -->',
    '',
    'Every key a pipeline file may hold, with its type, default and meaning, as the JSON Schemas',
    'that validate it say (your editor reads the same schemas: see [pipelines.md](pipelines.md)).',
    'Nested keys are written as dotted paths, as `--set` takes them.',
    '',
    '## The file',
    '',
    ...table(rows(pipeline, pipeline, '', 0, ['stages', 'sweep']), 'key'),
    '',
    ...definitionSection(pipeline, '## `stages.<name>`', 'stage', { describe: false, skip: ['with'] }),
    ...definitionSection(pipeline, '## `sweep`', 'sweep'),
    ...definitionSection(pipeline, '### A `distribution` (`random.params`)', 'distribution'),
    '## Built-in stages (`uses:` and their `with:`)',
  ];
  const stages = [...files].filter(([rel]) => rel.startsWith('stages/')).sort(([a], [b]) => a.localeCompare(b));
  for (const [, raw] of stages) {
    const s = raw as Schema;
    lines.push('', `### \`${s.title ?? '?'}\``, '', text(s.description), '');
    const r = rows(s, s, '', 0);
    lines.push(...(r.length > 0 ? table(r, '`with:` key') : ['No `with:` keys.']));
  }
  return lines.join('\n') + '\n';
}

/** A definition of the pipeline schema as a section: its heading, its description, its keys. */
function definitionSection(
  pipeline: Schema,
  heading: string,
  name: string,
  o: { describe?: boolean; skip?: string[] } = {},
): string[] {
  const def = resolve(pipeline, { $ref: `#/definitions/${name}` });
  return [
    heading,
    '',
    ...(o.describe === false ? [] : [text(def.description), '']),
    ...table(rows(def, pipeline, '', 0, o.skip), 'key'),
    '',
  ];
}

interface Row {
  key: string;
  type: string;
  dflt: string;
  what: string;
}

function rows(schema: Schema, root: Schema, prefix: string, depth: number, skip: string[] = []): Row[] {
  const out: Row[] = [];
  for (const [name, raw] of Object.entries(schema.properties ?? {})) {
    if (skip.includes(name)) {
      out.push({
        key: `${prefix}${name}`,
        type: 'object',
        dflt: '',
        what: `see below: ${text(resolve(root, raw).description)}`,
      });
      continue;
    }
    const s = resolve(root, raw);
    const key = `${prefix}${name}`;
    const required = schema.required?.includes(name) ? ' **Required.**' : '';
    out.push({
      key,
      type: typeOf(s, root),
      dflt: s.default === undefined ? '' : `\`${JSON.stringify(s.default)}\``,
      what: `${text(s.description)}${required}${bounds(s)}`,
    });
    if (s.properties && depth + 1 < MAX_DEPTH) out.push(...rows(s, root, `${key}.`, depth + 1));
  }
  return out;
}

function resolve(root: Schema, s: Schema): Schema {
  if (!s.$ref?.startsWith('#/definitions/')) return s;
  const def = root.definitions?.[s.$ref.slice('#/definitions/'.length)];
  return def ? { ...def, ...(s.description ? { description: s.description } : {}) } : s;
}

function typeOf(s: Schema, root: Schema): string {
  if (s.enum) return s.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives) return [...new Set(alternatives.map((a) => typeOf(resolve(root, a), root)))].join(' \\| ');
  if (s.type === 'array') return s.items ? `list of ${typeOf(resolve(root, s.items), root)}` : 'list';
  if (s.type === 'object' && !s.properties && typeof s.additionalProperties === 'object') {
    const ref = s.additionalProperties.$ref?.replace('#/definitions/', '');
    return `map of ${ref ? `${ref} (below)` : typeOf(resolve(root, s.additionalProperties), root)}`;
  }
  if (Array.isArray(s.type)) return s.type.join(' \\| ');
  return s.type ?? 'any';
}

function bounds(s: Schema): string {
  const parts = [
    s.minimum !== undefined ? `≥ ${s.minimum}` : '',
    s.exclusiveMinimum !== undefined ? `> ${s.exclusiveMinimum}` : '',
    s.maximum !== undefined ? `≤ ${s.maximum}` : '',
  ].filter(Boolean);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

function table(r: readonly Row[], first: string): string[] {
  return [
    `| ${first} | type | default | what it is |`,
    '|---|---|---|---|',
    ...r.map((x) => `| \`${x.key}\` | ${x.type} | ${x.dflt} | ${cell(x.what)} |`),
  ];
}

const text = (s: string | undefined) => (s ?? '').replace(/\s+/g, ' ').trim();
const cell = (s: string) => s.replace(/\|/g, '\\|');

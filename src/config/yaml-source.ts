import {
  isCollection,
  isMap,
  isPair,
  isScalar,
  Lexer,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Node,
  type Pair,
  type YAMLError,
} from 'yaml';
import { ParamflowError, type SourceLocation } from '../util/errors.js';

/** Deeper than any pipeline needs; shallow enough for every recursive walk over the values. */
const MAX_DEPTH = 64;
/** Keys and values in one file, and items in one list or mapping (docs/reliability.md); a real pipeline has a few hundred. */
export const MAX_VALUES = 200_000;
export const MAX_ITEMS = 100_000;

// A parsed YAML file that can say where any value came from: the loader maps
// every schema error back to file:line:column through this.
export class YamlSource {
  private constructor(
    readonly file: string,
    readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  static parse(file: string, text: string): YamlSource {
    countValues(file, text);
    const lines = new LineCounter();
    const doc = parseDocument(text, {
      lineCounter: lines,
      prettyErrors: false,
      // Duplicate keys are refused by checkStructure, in linear time.
      uniqueKeys: false,
    });
    const source = new YamlSource(file, doc, lines);
    const first = doc.errors[0];
    if (first) throw source.syntaxError(first);
    source.checkStructure();
    return source;
  }

  /**
   * Nesting depth, duplicate keys and collection keys, in one iterative walk in document
   * order: no later recursive walk (validation, hashing) can overflow the stack, and
   * duplicates are found in linear time (the yaml package's own check is quadratic).
   */
  private checkStructure(): void {
    const stack: [unknown, number][] = [[this.doc.contents, 1]];
    while (stack.length > 0) {
      const [node, depth] = stack.pop()!;
      if (!isCollection(node)) continue;
      if (depth > MAX_DEPTH) {
        throw new ParamflowError('PF_YAML_SYNTAX', `values nested more than ${MAX_DEPTH} levels deep`, {
          location: this.at(node.range?.[0] ?? 0),
          hint: 'a pipeline nests a few levels: look for runaway brackets or indentation here',
        });
      }
      if (node.items.length > MAX_ITEMS) {
        throw new ParamflowError(
          'PF_YAML_SYNTAX',
          `a list or mapping of ${node.items.length.toLocaleString('en-US')} items; at most ${MAX_ITEMS.toLocaleString('en-US')} are allowed`,
          {
            location: this.at(node.range?.[0] ?? 0),
            hint: 'keep data in files the stages read, not in the pipeline',
          },
        );
      }
      const seen = new Set<string>();
      const children: unknown[] = [];
      for (const item of node.items) {
        if (!isPair(item)) {
          children.push(item);
          continue;
        }
        const key = item.key as Node | null;
        if (isCollection(key)) {
          throw new ParamflowError('PF_YAML_SYNTAX', 'a mapping key must be a plain name, not a list or mapping', {
            location: this.at(key.range?.[0] ?? 0),
            hint: 'write the key as a word, e.g. `simulate:`',
          });
        }
        if (isScalar(key)) {
          const name = String(key.value);
          if (seen.has(name)) throw this.duplicateKeyError(key.range?.[0] ?? 0);
          seen.add(name);
        }
        children.push(item.value);
      }
      for (let i = children.length - 1; i >= 0; i--) stack.push([children[i], depth + 1]);
    }
  }

  private syntaxError(e: YAMLError): ParamflowError {
    if (/call stack/i.test(e.message)) {
      return new ParamflowError(
        'PF_YAML_SYNTAX',
        `values nested too deep to read (more than ${MAX_DEPTH} levels are refused)`,
        {
          location: this.at(e.pos[0]),
          hint: 'a pipeline nests a few levels: look for runaway brackets or indentation',
        },
      );
    }
    if (e.code === 'DUPLICATE_KEY') return this.duplicateKeyError(e.pos[0]);
    if (e.code === 'MULTIPLE_DOCS') {
      return new ParamflowError('PF_YAML_SYNTAX', 'a pipeline file holds one YAML document, this one has more', {
        location: this.at(e.pos[0]),
        hint: 'remove the `---` line and everything after it, or move it to a file of its own',
      });
    }
    const quote = /quote/i.test(e.message);
    const flow = /flow (sequence|mapping)|\]|\}/i.test(e.message);
    const origin = quote
      ? this.openerBefore(e.pos[0], 'quote')
      : flow
        ? this.openerBefore(e.pos[0], 'flow')
        : undefined;
    const hint = quote
      ? 'close the quote opened here (a string in quotes ends with the same quote character)'
      : flow
        ? 'close the bracket opened here: `[` with `]`, `{` with `}`'
        : yamlHint(e.code);
    return new ParamflowError('PF_YAML_SYNTAX', cleanYamlMessage(e.message), {
      location: this.at(origin ?? e.pos[0]),
      hint,
    });
  }

  /** Where an unclosed quote or bracket that the parser gave up on at `pos` was opened. */
  private openerBefore(pos: number, kind: 'quote' | 'flow'): number | undefined {
    let best: number | undefined;
    const consider = (n: Node) => {
      if (n.range && n.range[0] < pos && n.range[1] >= pos && (best === undefined || n.range[0] > best))
        best = n.range[0];
    };
    visit(this.doc, {
      Scalar: (_, n) => {
        if (kind === 'quote' && (n.type === 'QUOTE_DOUBLE' || n.type === 'QUOTE_SINGLE')) consider(n);
      },
      Map: (_, n) => {
        if (kind === 'flow' && n.flow) consider(n);
      },
      Seq: (_, n) => {
        if (kind === 'flow' && n.flow) consider(n);
      },
    });
    return best;
  }

  private duplicateKeyError(pos: number): ParamflowError {
    let underStages = false;
    let key = '';
    let first: number | undefined;
    visit(this.doc, {
      Pair: (_, pair, path) => {
        const k = pair.key as Node | null;
        if (!isScalar(k) || k.range?.[0] !== pos) return;
        key = String(k.value);
        const parent = path[path.length - 1];
        if (isMap(parent)) {
          const twin = (parent.items as Pair[]).find(
            (p) => isScalar(p.key) && String(p.key.value) === key && p !== pair,
          );
          first = (twin?.key as Node | undefined)?.range?.[0];
        }
        const grand = path[path.length - 2];
        underStages =
          path.length === 4 &&
          isScalar((grand as Pair | undefined)?.key) &&
          String(((grand as Pair).key as { value: unknown }).value) === 'stages';
      },
    });
    const where = first !== undefined ? ` (first at line ${this.at(first).line})` : '';
    return underStages
      ? new ParamflowError('PF_DUPLICATE_STAGE', `stage \`${key}\` is defined twice${where}`, {
          location: this.at(pos),
          hint: 'stage names are unique: rename one of them, or merge the two',
        })
      : new ParamflowError('PF_YAML_SYNTAX', `key \`${key}\` appears twice in one mapping${where}`, {
          location: this.at(pos),
          hint: 'each key may appear once in a mapping: remove or merge the duplicate',
        });
  }

  /** Location of a byte offset. */
  at(offset: number): SourceLocation {
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, column: col };
  }

  /**
   * Location of the value at `path` (or of its nearest existing ancestor). A mapping or
   * list held by a key is located at that key: "stages.noise" points at `noise:`.
   */
  locate(path: readonly (string | number)[]): SourceLocation {
    for (let n = path.length; n >= 0; n--) {
      const node = this.doc.getIn(path.slice(0, n), true) as Node | undefined;
      if (!node || typeof node !== 'object' || !node.range) continue;
      const last = path[n - 1];
      if (isCollection(node) && typeof last === 'string') return this.locateKey(path.slice(0, n - 1), last);
      return this.at(node.range[0]);
    }
    return { file: this.file, line: 1, column: 1 };
  }

  /** Location of the key `key` inside the mapping at `path`. */
  locateKey(path: readonly (string | number)[], key: string): SourceLocation {
    const map = path.length === 0 ? this.doc.contents : this.doc.getIn(path, true);
    if (isMap(map)) {
      const pair = (map.items as Pair[]).find((p) => isScalar(p.key) && String(p.key.value) === key);
      const keyNode = pair?.key as Node | undefined;
      if (keyNode?.range) return this.at(keyNode.range[0]);
    }
    return this.locate(path);
  }

  toJS(): unknown {
    try {
      // Alias bombs: a handful of aliases is plenty for a pipeline file.
      return this.doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      if (!/alias/i.test((err as Error).message)) throw err;
      let first: number | undefined;
      visit(this.doc, { Alias: (_, n) => void (first ??= n.range?.[0]) });
      throw new ParamflowError('PF_YAML_SYNTAX', 'the YAML aliases (`*name`) expand to too many values', {
        location: this.at(first ?? 0),
        hint: 'write the values out, or use fewer aliases: a pipeline file needs few if any',
      });
    }
  }
}

/**
 * Refuses a file of more than MAX_VALUES keys and values before it is parsed: parsing is the
 * slow part (a 10 MB list of numbers took minutes and a gigabyte), the lexer alone is fast and
 * stops at the first value past the cap.
 */
function countValues(file: string, text: string): void {
  let values = 0;
  let offset = 0;
  for (const token of new Lexer().lex(text)) {
    // One-character markers the lexer adds (document, flow end, scalar) are not source text.
    if (token === '\x1f') {
      if (++values > MAX_VALUES) {
        const lines = new LineCounter();
        lines.addNewLine(0);
        for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) lines.addNewLine(i + 1);
        const { line, col } = lines.linePos(offset);
        throw new ParamflowError(
          'PF_YAML_SYNTAX',
          `more than ${MAX_VALUES.toLocaleString('en-US')} keys and values in one pipeline file`,
          {
            location: { file, line, column: col },
            hint: 'a pipeline holds a few hundred values: keep data in files the stages read, not in the pipeline',
          },
        );
      }
    } else if (token !== '\x02' && token !== '\x18') {
      offset += token.length;
    }
  }
}

function cleanYamlMessage(message: string): string {
  return `invalid YAML: ${message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}`;
}

function yamlHint(code: string): string {
  switch (code) {
    case 'TAB_AS_INDENT':
      return 'indent with spaces, not tabs';
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
      return 'check the indentation and the brackets around this line';
    case 'BLOCK_AS_IMPLICIT_KEY':
    case 'MULTILINE_IMPLICIT_KEY':
      return 'a key and its colon must be on one line; is a colon or a quote missing on the line above?';
    default:
      return 'fix the YAML syntax here (quote strings that contain ": " or "#")';
  }
}

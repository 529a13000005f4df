import { isCollection, isMap, isScalar, LineCounter, parseDocument, visit, type Document, type Node, type Pair, type YAMLError } from 'yaml';
import { ParamflowError, type SourceLocation } from '../errors.js';

// A parsed YAML file that can say where any value came from: the loader maps
// every schema error back to file:line:column through this.
export class YamlSource {
  private constructor(
    readonly file: string,
    readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  static parse(file: string, text: string): YamlSource {
    const lines = new LineCounter();
    const doc = parseDocument(text, {
      lineCounter: lines,
      prettyErrors: false,
      uniqueKeys: true,
    });
    const source = new YamlSource(file, doc, lines);
    const first = doc.errors[0];
    if (first) throw source.syntaxError(first);
    source.refuseCollectionKeys();
    return source;
  }

  private syntaxError(e: YAMLError): ParamflowError {
    if (e.code === 'DUPLICATE_KEY') return this.duplicateKeyError(e.pos[0]);
    if (e.code === 'MULTIPLE_DOCS') {
      return new ParamflowError('PF_YAML_SYNTAX', 'a pipeline file holds one YAML document, this one has more', {
        location: this.at(e.pos[0]),
        hint: 'remove the `---` line and everything after it, or move it to a file of its own',
      });
    }
    const quote = /quote/i.test(e.message);
    const flow = /flow (sequence|mapping)|\]|\}/i.test(e.message);
    const origin = quote ? this.openerBefore(e.pos[0], 'quote') : flow ? this.openerBefore(e.pos[0], 'flow') : undefined;
    const hint = quote
      ? 'close the quote opened here (a string in quotes ends with the same quote character)'
      : flow
        ? 'close the bracket opened here: `[` with `]`, `{` with `}`'
        : yamlHint(e.code);
    return new ParamflowError('PF_YAML_SYNTAX', cleanYamlMessage(e.message), { location: this.at(origin ?? e.pos[0]), hint });
  }

  /** Where an unclosed quote or bracket that the parser gave up on at `pos` was opened. */
  private openerBefore(pos: number, kind: 'quote' | 'flow'): number | undefined {
    let best: number | undefined;
    const consider = (n: Node) => {
      if (n.range && n.range[0] < pos && n.range[1] >= pos && (best === undefined || n.range[0] > best)) best = n.range[0];
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
          const twin = (parent.items as Pair[]).find((p) => isScalar(p.key) && String(p.key.value) === key && p !== pair);
          first = (twin?.key as Node | undefined)?.range?.[0];
        }
        const grand = path[path.length - 2];
        underStages = path.length === 4 && isScalar((grand as Pair | undefined)?.key) && String(((grand as Pair).key as { value: unknown }).value) === 'stages';
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

  /** `? [a, b]: 1` keys would be stringified silently: refuse them instead. */
  private refuseCollectionKeys(): void {
    let bad: Node | undefined;
    visit(this.doc, {
      Pair: (_, pair) => {
        if (!bad && isCollection(pair.key)) bad = pair.key as Node;
      },
    });
    if (bad?.range) {
      throw new ParamflowError('PF_YAML_SYNTAX', 'a mapping key must be a plain name, not a list or mapping', {
        location: this.at(bad.range[0]),
        hint: 'write the key as a word, e.g. `simulate:`',
      });
    }
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
    // Alias bombs: a handful of aliases is plenty for a pipeline file.
    return this.doc.toJS({ maxAliasCount: 100 });
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

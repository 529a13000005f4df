import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node, type Pair } from 'yaml';
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
    if (first) {
      const duplicate = first.code === 'DUPLICATE_KEY';
      throw new ParamflowError(duplicate ? 'PF_DUPLICATE_STAGE' : 'PF_YAML_SYNTAX', cleanYamlMessage(first.message), {
        location: source.at(first.pos[0]),
        hint: duplicate
          ? 'each key (and each stage name) may appear once in a mapping; rename or merge the duplicate'
          : yamlHint(first.code),
      });
    }
    return source;
  }

  /** Location of a byte offset. */
  at(offset: number): SourceLocation {
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, column: col };
  }

  /** Location of the value at `path` (or of its nearest existing ancestor). */
  locate(path: readonly (string | number)[]): SourceLocation {
    for (let n = path.length; n >= 0; n--) {
      const node = this.doc.getIn(path.slice(0, n), true) as Node | undefined;
      if (node && typeof node === 'object' && node.range) return this.at(node.range[0]);
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

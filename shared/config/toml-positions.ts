import type { Position } from "../schema/issues.js";
import type { KeyPath } from "../schema/key-path.js";

/**
 * Where each key of a TOML document is written, keyed by JSON of its key path. smol-toml gives
 * values without positions, so this scanner re-reads the text. It runs only on text smol-toml
 * already accepted, so it can assume valid TOML and stay small.
 */
export type TomlKeyPositions = Map<string, Position>;

const bareKey = /[A-Za-z0-9_-]/;

class Scanner {
  i = 0;
  line = 1;
  lineStart = 0;
  readonly positions: TomlKeyPositions = new Map();
  private readonly tableArrays = new Map<string, number>();

  constructor(readonly text: string) {}

  here(): Position {
    return { line: this.line, column: this.i - this.lineStart + 1 };
  }

  advance(n = 1): void {
    for (let k = 0; k < n && this.i < this.text.length; k++) {
      if (this.text[this.i] === "\n") {
        this.line++;
        this.lineStart = this.i + 1;
      }
      this.i++;
    }
  }

  peek(s: string): boolean {
    return this.text.startsWith(s, this.i);
  }

  /** Spaces and tabs; with `newlines`, also line breaks and comments (inside arrays). */
  skipBlank(newlines: boolean): void {
    for (;;) {
      const c = this.text[this.i];
      if (c === " " || c === "\t" || (newlines && (c === "\n" || c === "\r"))) this.advance();
      else if (newlines && c === "#") this.skipLine();
      else return;
    }
  }

  skipLine(): void {
    while (this.i < this.text.length && this.text[this.i] !== "\n") this.advance();
  }

  record(path: KeyPath, at: Position): void {
    const id = JSON.stringify(path);
    if (!this.positions.has(id)) this.positions.set(id, at);
  }

  /** A dotted key (`a."b c".d`); records each prefix under `base` at its segment's position. */
  key(base: KeyPath): KeyPath {
    const path = [...base];
    for (;;) {
      this.skipBlank(false);
      const at = this.here();
      path.push(this.keySegment());
      this.record(path, at);
      this.skipBlank(false);
      if (this.text[this.i] !== ".") return path;
      this.advance();
    }
  }

  keySegment(): string {
    const quote = this.text[this.i];
    if (quote === '"' || quote === "'") {
      const start = this.i;
      this.skipString();
      const raw = this.text.slice(start, this.i);
      return quote === '"' ? (JSON.parse(raw) as string) : raw.slice(1, -1);
    }
    const start = this.i;
    while (this.i < this.text.length && bareKey.test(this.text[this.i] ?? "")) this.advance();
    return this.text.slice(start, this.i);
  }

  skipString(): void {
    const quote = this.text[this.i] ?? '"';
    const triple = quote.repeat(3);
    const close = this.peek(triple) ? triple : quote;
    this.advance(close.length);
    while (this.i < this.text.length && !this.peek(close))
      this.advance(quote === '"' && this.peek("\\") ? 2 : 1);
    // A multi-line string may end with up to two extra quotes before the closing three.
    while (close.length === 3 && this.text.startsWith(quote, this.i + 3)) this.advance();
    this.advance(close.length);
  }

  value(path: KeyPath): void {
    this.skipBlank(false);
    const c = this.text[this.i];
    if (c === '"' || c === "'") this.skipString();
    else if (c === "[") this.array(path);
    else if (c === "{") this.inlineTable(path);
    else while (this.i < this.text.length && !/[,\]}\n#]/.test(this.text[this.i] ?? "")) this.advance();
  }

  array(path: KeyPath): void {
    this.advance();
    for (let index = 0; ; index++) {
      this.skipBlank(true);
      if (this.text[this.i] === "]" || this.i >= this.text.length) break;
      this.record([...path, index], this.here());
      this.value([...path, index]);
      this.skipBlank(true);
      if (this.text[this.i] === ",") this.advance();
    }
    this.advance();
  }

  inlineTable(path: KeyPath): void {
    this.advance();
    for (;;) {
      this.skipBlank(true);
      if (this.text[this.i] === "}" || this.i >= this.text.length) break;
      const keyPath = this.key(path);
      this.advance(); // "="
      this.value(keyPath);
      this.skipBlank(true);
      if (this.text[this.i] === ",") this.advance();
    }
    this.advance();
  }

  header(): KeyPath {
    const isArray = this.peek("[[");
    this.advance(isArray ? 2 : 1);
    let path = this.key([]);
    if (isArray) {
      const id = JSON.stringify(path);
      const index = this.tableArrays.get(id) ?? 0;
      this.tableArrays.set(id, index + 1);
      path = [...path, index];
      this.record(path, this.here());
    }
    this.skipLine();
    return path;
  }

  document(): TomlKeyPositions {
    let table: KeyPath = [];
    while (this.i < this.text.length) {
      const start = this.i;
      this.skipBlank(true);
      if (this.i >= this.text.length) break;
      if (this.text[this.i] === "[") {
        table = this.header();
        continue;
      }
      const path = this.key(table);
      this.advance(); // "="
      this.value(path);
      this.skipLine();
      // Never loop in place on text this scanner does not understand.
      if (this.i === start) this.advance();
    }
    return this.positions;
  }
}

export function scanTomlKeys(text: string): TomlKeyPositions {
  return new Scanner(text).document();
}

/** The position of the key path, or of its nearest ancestor written in the text. */
export function positionInToml(positions: TomlKeyPositions, path: KeyPath): Position | undefined {
  for (let n = path.length; n > 0; n--) {
    const at = positions.get(JSON.stringify(path.slice(0, n)));
    if (at !== undefined) return at;
  }
  return undefined;
}

/**
 * A layout scanner for TOML text: where each table header and each `key = value` line is, so a
 * merge can edit the server's copy line by line and keep its comments. It reads only structure
 * (keys, extents of values); smol-toml remains the parser of record, and every edited text is
 * parsed again and compared before it is used (toml-text-edit.ts).
 */
import type { CommentLine } from "./comment-names.js";

export interface TomlHeader {
  kind: "table" | "array";
  path: string[];
  /** Offset of the first leading comment line directly above the header, else of the header line. */
  blockStart: number;
  lineStart: number;
  /** Offset just past the header line's newline. */
  lineEnd: number;
}

export interface TomlEntry {
  /** Full key path: the enclosing table's path + the (possibly dotted) key; undefined inside [[arrays]]. */
  path: string[] | undefined;
  key: string[];
  /** Path of the enclosing `[table]`, [] for the root. */
  table: string[];
  blockStart: number;
  lineStart: number;
  valueStart: number;
  valueEnd: number;
  /** Offset just past the entry's last line (newline included). */
  lineEnd: number;
}

export interface TomlLayout {
  headers: TomlHeader[];
  entries: TomlEntry[];
}

export class TomlScanError extends Error {}

export function scanToml(text: string): TomlLayout {
  return new Scanner(text).scan();
}

class Scanner {
  private pos = 0;
  private readonly layout: TomlLayout = { headers: [], entries: [] };
  private table: string[] = [];
  private inArray = false;
  /** The paths of the `[[array]]` headers so far. */
  private readonly arrays = new Set<string>();
  /** Start of the run of comment lines directly above the current line, if any. */
  private commentStart: number | undefined;

  constructor(private readonly text: string) {}

  scan(): TomlLayout {
    while (this.pos < this.text.length) {
      const lineStart = this.pos;
      this.skipSpaces();
      const c = this.text[this.pos];
      if (c === "\n" || c === "\r" || c === undefined) {
        this.commentStart = undefined;
        this.skipLine();
      } else if (c === "#") {
        this.commentStart ??= lineStart;
        this.skipLine();
      } else {
        const blockStart = this.commentStart ?? lineStart;
        this.commentStart = undefined;
        if (c === "[") this.header(blockStart, lineStart);
        else this.entry(blockStart, lineStart);
      }
    }
    return this.layout;
  }

  private header(blockStart: number, lineStart: number): void {
    const kind = this.text.startsWith("[[", this.pos) ? "array" : "table";
    this.pos += kind === "array" ? 2 : 1;
    const path = this.key();
    this.skipSpaces();
    const close = kind === "array" ? "]]" : "]";
    if (!this.text.startsWith(close, this.pos)) throw new TomlScanError(`expected ${close} at ${this.pos}`);
    this.pos += close.length;
    this.skipLine();
    this.table = path;
    // [a.b] after [[a]] is a table inside the last element of array a: not addressable by path.
    // Looked up by prefix, not by going through every header before: a file of many tables took
    // time growing with the square of their count.
    this.inArray =
      kind === "array" || path.some((_, i) => this.arrays.has(JSON.stringify(path.slice(0, i + 1))));
    if (kind === "array") this.arrays.add(JSON.stringify(path));
    this.layout.headers.push({ kind, path, blockStart, lineStart, lineEnd: this.pos });
  }

  private entry(blockStart: number, lineStart: number): void {
    const key = this.key();
    this.skipSpaces();
    if (this.text[this.pos] !== "=") throw new TomlScanError(`expected = at ${this.pos}`);
    this.pos++;
    this.skipSpaces();
    const valueStart = this.pos;
    const valueEnd = this.value();
    this.skipLine();
    const path = this.inArray ? undefined : [...this.table, ...key];
    this.layout.entries.push({
      path,
      key,
      table: this.table,
      blockStart,
      lineStart,
      valueStart,
      valueEnd,
      lineEnd: this.pos,
    });
  }

  /** A dotted key of bare, "basic" and 'literal' parts. */
  private key(): string[] {
    const parts: string[] = [];
    for (;;) {
      this.skipSpaces();
      parts.push(this.keyPart());
      this.skipSpaces();
      if (this.text[this.pos] !== ".") return parts;
      this.pos++;
    }
  }

  private keyPart(): string {
    const c = this.text[this.pos];
    if (c === '"') return decodeBasic(this.quoted('"'));
    if (c === "'") return this.quoted("'").slice(1, -1);
    const bare = /^[A-Za-z0-9_-]+/.exec(this.text.slice(this.pos, this.pos + 256))?.[0];
    if (bare === undefined) throw new TomlScanError(`expected a key at ${this.pos}`);
    this.pos += bare.length;
    return bare;
  }

  /** Scans to the end of a value (strings, nested arrays/inline tables); returns its end offset. */
  private value(): number {
    let depth = 0;
    let end = this.pos;
    while (this.pos < this.text.length) {
      const c = this.text[this.pos] as string;
      if (c === "#" || ((c === "\n" || c === "\r") && depth === 0)) {
        if (depth === 0) return end;
        this.skipLine();
        continue;
      }
      if (c === '"' || c === "'") {
        const triple = c.repeat(3);
        if (this.text.startsWith(triple, this.pos)) this.multiline(triple);
        else this.quoted(c);
      } else {
        if (c === "[" || c === "{") depth++;
        else if (c === "]" || c === "}") depth--;
        this.pos++;
      }
      if (!/\s/.test(c)) end = this.pos;
    }
    return end;
  }

  private quoted(quote: string): string {
    const start = this.pos;
    this.pos++;
    while (this.pos < this.text.length && this.text[this.pos] !== quote) {
      if (this.text[this.pos] === "\n") throw new TomlScanError(`unterminated string at ${start}`);
      this.pos += quote === '"' && this.text[this.pos] === "\\" ? 2 : 1;
    }
    this.pos++;
    return this.text.slice(start, this.pos);
  }

  private multiline(triple: string): void {
    this.pos += 3;
    for (;;) {
      if (this.pos >= this.text.length) throw new TomlScanError("unterminated multi-line string");
      if (triple === '"""' && this.text[this.pos] === "\\") this.pos += 2;
      else if (this.text.startsWith(triple, this.pos)) break;
      else this.pos++;
    }
    this.pos += 3;
    // Up to two quotes may sit right before the closing delimiter ("""a"""" is `a"`).
    for (let i = 0; i < 2 && this.text[this.pos] === triple[0]; i++) this.pos++;
  }

  private skipSpaces(): void {
    while (this.text[this.pos] === " " || this.text[this.pos] === "\t") this.pos++;
  }

  private skipLine(): void {
    const newline = this.text.indexOf("\n", this.pos);
    this.pos = newline === -1 ? this.text.length : newline + 1;
  }
}

/** A "basic" key's text: TOML's escapes, \UXXXXXXXX, \e and \xHH (TOML 1.1) included. */
function decodeBasic(quoted: string): string {
  const simple: Record<string, string> = {
    b: "\b",
    t: "\t",
    n: "\n",
    f: "\f",
    r: "\r",
    e: "\u001b",
    '"': '"',
    "\\": "\\",
  };
  let bad = false;
  const decoded = quoted
    .slice(1, -1)
    .replace(/\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|x([0-9A-Fa-f]{2})|(.))/g, (_, u, big, x, c) => {
      const hex = u ?? big ?? x;
      if (hex !== undefined) {
        const code = Number.parseInt(hex, 16);
        if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) bad = true;
        return bad ? "" : String.fromCodePoint(code);
      }
      const char = simple[c as string];
      if (char === undefined) bad = true;
      return char ?? "";
    });
  if (bad) throw new TomlScanError(`unsupported escape in key ${quoted}`);
  return decoded;
}

/** The comments (`# …` outside strings) in a stretch of TOML text, without their `#`. */
export function tomlComments(text: string): string[] {
  return tomlCommentLines(text).map(({ comment }) => comment);
}

/** Each comment's text after its `#` (trailing spaces dropped) with its line (1-based) and offset in `text`. */
export function tomlCommentLines(text: string): CommentLine[] {
  const found: CommentLine[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === "#") {
      const end = text.indexOf("\n", i);
      found.push({ comment: text.slice(i + 1, end === -1 ? text.length : end).trimEnd(), line, offset: i });
      i = end === -1 ? text.length : end;
    } else if (c === '"' || c === "'") {
      const quote = text.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
      i += quote.length;
      while (i < text.length && !text.startsWith(quote, i)) {
        // An escape is two characters: a line-ending backslash's newline counts too.
        const step = c === '"' && text[i] === "\\" ? 2 : 1;
        for (let k = i; k < i + step; k++) if (text[k] === "\n") line++;
        i += step;
      }
      i += quote.length;
    } else {
      if (c === "\n") line++;
      i++;
    }
  }
  return found;
}

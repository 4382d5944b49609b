/**
 * Folded block scalars (`command: >` then its lines, as docker-compose and Kubernetes files write
 * long commands) keep the lines their file gave them. The library writes a folded scalar's text
 * anew, on one line at the merge's `lineWidth: 0`: a release's new `command: >` came out as one
 * line, and the user's lines of the old one were named in a WARNING as a layout they lost. Each
 * folded scalar is written as its own text instead: the user's where it is the user's, the
 * release's where the merge took it from the release, moved to the indentation it lands at. The
 * caller parses the result again and keeps it only when it holds the merged values.
 */
import { type Document, isNode, type Scalar, visit } from "yaml";

/** Folded scalars the merge took from the release's copy; every other one is the user's. */
const FROM_RELEASE = new WeakSet<Scalar>();

export function markFromRelease(node: unknown): void {
  if (!isNode(node)) return;
  visit(node, {
    Scalar(_key, scalar) {
      if (scalar.type === "BLOCK_FOLDED") FROM_RELEASE.add(scalar);
    },
  });
}

interface Placed {
  token: string;
  /** The scalar's text from its header (`>-`) to its last line, and that header line's indent. */
  source: string;
  headerIndent: number;
  /**
   * How much deeper than the key its lines go where it lands: the user's file's step for the
   * release's text (a file indented by 4 had a new `command: >` with lines 2 deeper, as the
   * library writes its `|` blocks 4 deeper), else as its file wrote it.
   */
  step: number | undefined;
}

/**
 * `doc` written with each folded scalar as its file wrote it, or undefined when there is none or
 * one cannot be placed (a header with a comment, an indentation indicator, an anchor or a tag).
 */
export function withFoldedLines(
  doc: Document,
  options: Parameters<Document["toString"]>[0],
  texts: { user: string; release: string },
): string | undefined {
  const placed: Placed[] = [];
  const swapped: { scalar: Scalar; value: unknown; type: Scalar["type"] }[] = [];
  const salt = Math.random().toString(36).slice(2);
  visit(doc, {
    Scalar(_key, scalar) {
      if (scalar.type !== "BLOCK_FOLDED" || scalar.range == null) return;
      const text = FROM_RELEASE.has(scalar) ? texts.release : texts.user;
      const source = text.slice(scalar.range[0], scalar.range[1]);
      if (!/^>[-+]?[ \t]*\n/.test(source)) return;
      const lineStart = text.lastIndexOf("\n", scalar.range[0] - 1) + 1;
      const headerIndent = indentOf(text.slice(lineStart));
      const token = `shipfolded${placed.length}x${salt}`;
      const step = FROM_RELEASE.has(scalar) ? options?.indent : undefined;
      placed.push({ token, source, headerIndent, step });
      swapped.push({ scalar, value: scalar.value, type: scalar.type });
      scalar.value = token;
      scalar.type = "PLAIN";
    },
  });
  if (placed.length === 0) return undefined;
  try {
    let out = doc.toString(options);
    for (const { token, source, headerIndent, step } of placed) {
      const at = out.indexOf(token);
      const after = at + token.length;
      if (at === -1 || out.indexOf(token, after) !== -1 || !(out[after] === "\n" || after === out.length))
        return undefined;
      const indent = indentOf(out.slice(out.lastIndexOf("\n", at - 1) + 1));
      const [header, ...lines] = source.replace(/\n$/, "").split("\n");
      const filled = lines.filter((line) => line.trim() !== "").map(indentOf);
      const shift = step === undefined ? 0 : step - (Math.min(...filled) - headerIndent);
      const moved: string[] = [];
      for (const line of lines) {
        if (line.trim() === "") {
          moved.push("");
          continue;
        }
        const depth = indentOf(line) - headerIndent + indent + shift;
        if (depth <= indent) return undefined;
        moved.push(`${" ".repeat(depth)}${line.trimStart()}`);
      }
      out = `${out.slice(0, at)}${[header, ...moved].join("\n")}${out.slice(after)}`;
    }
    return out;
  } finally {
    for (const { scalar, value, type } of swapped) {
      scalar.value = value;
      scalar.type = type;
    }
  }
}

function indentOf(line: string): number {
  return /^ */.exec(line)?.[0].length ?? 0;
}

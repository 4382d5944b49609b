import { matches } from "./line-diff.js";

/**
 * The byte-order mark and line endings of a config file. Merges work on text without a BOM and with
 * LF line endings, so a file saved by a Windows editor compares equal to the release's LF copy and
 * every format's editor sees one kind of newline; the result gets the server copy's form back.
 */

export interface TextForm {
  bom: boolean;
  /**
   * CRLF only when every line of the file ends so; a file that mixes both is left as it is. CR
   * alone (classic Mac OS) when the file has no LF at all: the parsers do not read a lone CR as a
   * line break, so such a YAML file that opened with a comment read as one comment, an empty
   * mapping, and a three-way merge took every key of it as deleted.
   */
  eol: "\r\n" | "\n" | "\r";
  /** Some lines end in CRLF and others in LF: each merged line takes its neighbours' (neighbourEndings). */
  mixed?: true;
}

const BOM = "\uFEFF";

export function textFormOf(text: string): TextForm {
  const lines = text.split("\n").length - 1;
  const crlf = text.split("\r\n").length - 1;
  const eol = lines > 0 ? (crlf === lines ? "\r\n" : "\n") : text.includes("\r") ? "\r" : "\n";
  return { bom: text.startsWith(BOM), eol, ...(crlf > 0 && crlf < lines ? { mixed: true } : {}) };
}

/** The server copy as the merge sees it: no BOM; LF where the file is consistently CRLF, or CR. */
export function normaliseServerText(text: string, form: TextForm): string {
  const bare = form.bom ? text.slice(BOM.length) : text;
  if (form.eol === "\r") return bare.replaceAll("\r", "\n");
  return form.eol === "\r\n" ? bare.replaceAll("\r\n", "\n") : bare;
}

/** A release copy as the merge sees it: no BOM, LF line endings. */
export function normaliseReleaseText(text: string): string {
  const bare = text.startsWith(BOM) ? text.slice(BOM.length) : text;
  return bare.includes("\n") ? bare.replaceAll("\r\n", "\n") : bare.replaceAll("\r", "\n");
}

/** Puts the server copy's BOM and line endings back on a merged text. */
export function restoreForm(text: string, form: TextForm): string {
  const lines = form.eol === "\n" ? text : text.replace(/\r?\n/g, form.eol);
  return form.bom ? BOM + lines : lines;
}

/**
 * The line endings of a merge of a file that mixes CRLF and LF: a line kept from the server copy
 * keeps its own, a line the merge added or changed takes the one of the line above it (the line
 * below, at the top). Each format's editor gave every new line one ending for the whole file (CRLF
 * as soon as one line had it, or always LF), so a key added to an LF section came in CRLF.
 */
export function neighbourEndings(server: string, merged: string): string {
  const before = splitLines(server);
  const after = splitLines(merged);
  const matched = matches(after.bodies, before.bodies);
  const ends: string[] = [];
  for (let i = 0; i < after.bodies.length; i++) {
    const own = after.ends[i] as string;
    const j = matched[i] as number;
    const kept = j >= 0 ? (before.ends[j] as string) : "";
    ends.push(own === "" ? "" : kept !== "" ? kept : (ends[i - 1] ?? ""));
  }
  // Lines added at the top have no line above: they take the first ending found below them.
  const first = ends.find((end) => end !== "") ?? before.ends.find((end) => end !== "") ?? "\n";
  let out = "";
  for (let i = 0; i < after.bodies.length; i++) {
    const own = after.ends[i] as string;
    out += (after.bodies[i] as string) + (own === "" ? "" : (ends[i] as string) || first);
  }
  return out;
}

/** A text's lines without their endings, and each one's ending ("" for a last line without one). */
function splitLines(text: string): { bodies: string[]; ends: string[] } {
  const parts = text.split("\n");
  const bodies: string[] = [];
  const ends: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    const last = i === parts.length - 1;
    if (last && part === "") break;
    const crlf = !last && part.endsWith("\r");
    bodies.push(crlf ? part.slice(0, -1) : part);
    ends.push(last ? "" : crlf ? "\r\n" : "\n");
  }
  return { bodies, ends };
}

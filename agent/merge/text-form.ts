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
}

const BOM = "\uFEFF";

export function textFormOf(text: string): TextForm {
  const lines = text.split("\n").length - 1;
  const crlf = text.split("\r\n").length - 1;
  const eol = lines > 0 ? (crlf === lines ? "\r\n" : "\n") : text.includes("\r") ? "\r" : "\n";
  return { bom: text.startsWith(BOM), eol };
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

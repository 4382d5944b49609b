/**
 * A YAML file that ends with `---` (and perhaps comments after it) holds a second, empty document,
 * as generated and concatenated Kubernetes manifests often end. The merge needs one document, so
 * such a file was refused (exit 2) on every update though it holds one. The empty documents at the
 * end are set aside, the one before them merged, and the server copy's end written back after it.
 */

/** `text` without the empty documents at its end (`tail`, as written), when it has content before them. */
export function withoutEmptyDocuments(text: string): { body: string; tail: string } {
  const lines = text.split("\n");
  let start = lines.length;
  // Back over blank and comment lines and `---` / `...` markers to the last `---` among them.
  let marker = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] as string;
    if (/^---[ \t]*(#.*)?\r?$/.test(line)) marker = i;
    else if (!/^(\.\.\.)?[ \t]*(#.*)?\r?$/.test(line)) break;
    start = i;
  }
  const hasContent = lines.slice(0, start).some((line) => !/^(---|\.\.\.)?[ \t]*(#.*)?\r?$/.test(line));
  if (marker === -1 || !hasContent) return { body: text, tail: "" };
  const body = lines.slice(0, marker).join("\n");
  return { body: body === "" ? body : `${body}\n`, tail: lines.slice(marker).join("\n") };
}

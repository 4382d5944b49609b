/**
 * Sets version, description and release date in an existing manifest through the yaml Document
 * API, so the author's comments, order and quoting elsewhere survive the edit.
 */
import { isMap, parseDocument, Scalar } from "yaml";
import { BadInputError } from "../../shared/errors.js";
import { parseManifestText } from "../../shared/manifest/load.js";

export interface ReleaseFields {
  version: string;
  description?: string;
  releaseDate?: string;
}

function quoted(value: string): Scalar<string> {
  // Quoted always: a plain 1.10 would be read back as the number 1.1.
  const node = new Scalar(value);
  node.type = Scalar.QUOTE_DOUBLE;
  return node;
}

export function setReleaseFields(text: string, file: string, fields: ReleaseFields): string {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    // The loader's report, as `ship --test-manifest` gives it: every problem at file:line:column
    // with its key ("is written twice …"). This one was the first only, as "YAML: Missing closing
    // "quote at line 3, column 1:", cut where yaml's excerpt of the line began.
    parseManifestText(text, file);
    throw BadInputError.single(file, "", `YAML: ${doc.errors[0]?.message.split("\n")[0] ?? "unreadable"}`);
  }
  if (doc.contents !== null && !isMap(doc.contents)) {
    throw BadInputError.single(file, "", "the manifest must be a mapping of keys");
  }
  doc.set("version", quoted(fields.version));
  if (fields.description !== undefined) doc.set("description", quoted(fields.description));
  if (fields.releaseDate !== undefined) doc.set("release_date", quoted(fields.releaseDate));
  return doc.toString({ lineWidth: 0 });
}

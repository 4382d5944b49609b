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
  const broken = doc.errors[0];
  if (broken !== undefined) refuse(text, file, `YAML: ${firstLine(broken)}`);
  if (doc.contents !== null && !isMap(doc.contents))
    refuse(text, file, "the manifest must be a mapping of keys");
  doc.set("version", quoted(fields.version));
  if (fields.description !== undefined) doc.set("description", quoted(fields.description));
  if (fields.releaseDate !== undefined) doc.set("release_date", quoted(fields.releaseDate));
  try {
    return doc.toString({ lineWidth: 0 });
  } catch (error) {
    // An alias with no anchor (`a: *x`) parses, and throws only here: it was "internal error:
    // Unresolved alias …", exit 1, where --test-manifest names the file, exit 2.
    return refuse(text, file, `YAML: ${error instanceof Error ? firstLine(error) : String(error)}`);
  }
}

/**
 * A manifest the edit cannot go through, reported as the loader (`ship --test-manifest`) reports
 * it: every syntax error at file:line:column with its key, a list where the mapping goes as
 * "FILE:1:1 must be a mapping (got a list)" (release said "the manifest must be a mapping of keys",
 * with no position). `otherwise` is said only if the loader accepted the text.
 */
function refuse(text: string, file: string, otherwise: string): never {
  parseManifestText(text, file);
  throw BadInputError.single(file, "", otherwise);
}

const firstLine = (error: Error): string => error.message.split("\n")[0] ?? "";

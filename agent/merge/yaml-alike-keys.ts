/**
 * Keys of one YAML mapping that read alike as values (`1` and `'1'`, `true` and `'true'`): YAML
 * holds them apart, but the merge works on values where they are one key holding the last one's
 * value. A file rebuilt from values therefore keeps one of them; the others' values go, and the
 * rebuild's warning must name them rather than say every value was kept.
 */
import { type Document, isMap, isScalar, isSeq, type Node, type Pair } from "yaml";
import { keyName } from "./values.js";

/** The key as the file writes it, quotes included, which is what tells `1` from `'1'`. */
function spelling(key: unknown): string {
  if (!isScalar(key)) return String(key);
  const text = key.source ?? String(key.value);
  if (key.type === "QUOTE_SINGLE") return `'${text}'`;
  if (key.type === "QUOTE_DOUBLE") return JSON.stringify(text);
  return text;
}

function valueKey(key: unknown): string {
  return String(isScalar(key) ? key.value : key);
}

/** Each key that lost to a later one reading alike: `1 (beside '1')`, `db: true (beside "true")`. */
export function alikeKeysThatGo(doc: Document): string[] {
  const gone: string[] = [];
  const walk = (node: unknown, path: string[]): void => {
    if (isSeq(node)) for (const [i, item] of node.items.entries()) walk(item, [...path, String(i)]);
    if (!isMap(node)) return;
    const last = new Map<string, Pair>();
    for (const pair of node.items as Pair<unknown, Node>[]) last.set(valueKey(pair.key), pair);
    for (const pair of node.items as Pair<unknown, Node>[]) {
      const key = valueKey(pair.key);
      const winner = last.get(key);
      if (winner !== undefined && winner !== pair) {
        const where = path.length === 0 ? "" : `${keyName(path)}: `;
        gone.push(`${where}${spelling(pair.key)} (beside ${spelling(winner.key)})`);
      }
      walk(pair.value, [...path, key]);
    }
  };
  walk(doc.contents, []);
  return gone;
}

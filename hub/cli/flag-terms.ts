/**
 * The hub names what it refuses or warns of by the API's fields (`body.waves[1]`,
 * `body.failureThreshold`, `query.state`); an operator who typed `--wave half=50` or `--state`
 * was told of a field they never wrote. The CLI says it in the terms it was given: the flag (with
 * the value typed, for a repeated one), or the `--spec` file and its key.
 */
import { HubRequestError } from "../errors.js";
import { quotedText } from "../quoted-text.js";

/**
 * How the request the hub answered was given: by a `--spec` file, or by flags (`flags`: each API
 * field and the flag that gave it; `waves`: what to call `body.waves[i]`, `--wave "…"` as typed).
 */
export type FlagSource =
  | { spec: string; at?: (path: readonly (string | number)[]) => string | undefined }
  | { flags: Readonly<Record<string, string>>; waves?: readonly string[]; labels?: LabelNames };

/**
 * The label names sent (the selector's, and each labels wave's, by its place): the hub names a
 * refused one after `.labels.` as written, any character in it (`my rack`, `région`, `tier:web`),
 * so it is found by its name, as the dashboard's form finds it (dashboard/src/form-terms.ts).
 */
export interface LabelNames {
  selector: readonly string[];
  waves: readonly (readonly string[] | undefined)[];
}

/** `message` with each API field it names put as the flag (or the spec file's key) it came from. */
export function inFlagTerms(message: string, source: FlagSource): string {
  if ("spec" in source)
    // Each field at its line:column in the file (`--spec FILE:7:5: waves[1].agents …`), as the
    // CLI's own check of the file says it: the hub's refusals named the key and not where it was.
    return message.replace(/\bbody\.(?=([A-Za-z][\w-]*(?:\.[\w-]+|\[\d+\])*))/g, (_, field: string) => {
      const at = source.at?.(fieldPath(field));
      return `--spec ${source.spec}${at === undefined ? "" : `:${at}`}: `;
    });
  const { waves = [], flags, labels } = source;
  const selector = flags["body.selector"];
  // A label by its name as sent, before the patterns below: `[\w./-]+` took "my rack" for "my"
  // and left " rack" behind the flag (`--selector "my=…" rack: …`), "région" for "r".
  const byName = labelsNamed(message, [
    ...(labels?.waves ?? []).map(
      (keys, i) =>
        [
          `body.waves[${i}].labels.`,
          keys ?? [],
          (key: string) => `${waves[i] ?? `body.waves[${i}]`}: label ${quotedText(key)}`,
        ] as const,
    ),
    [
      "body.selector.labels.",
      labels?.selector ?? [],
      (key: string) => `${selector ?? "--selector"} ${quotedText(`${key}=…`)}`,
    ] as const,
  ]);
  // `body.waves[0].agents (canary)`: the typed `--wave "canary=agents:…"` names the wave already.
  const named = byName
    .replace(
      // Its sub-fields too (`.agents[1]`, `.labels.ring`): the flag's text holds them.
      /\bbody\.waves\[(\d+)\](?:\.[\w-]+|\[\d+\])*(?: \([^)]*\))?/g,
      (field, index: string) => waves[Number(index)] ?? field,
    )
    // One label of the selector: the `--selector KEY=…` that gave it.
    .replace(/\bbody\.selector\.labels\.([\w./-]+)/g, (field, key: string) =>
      selector === undefined ? field : `${selector} ${quotedText(`${key}=…`)}`,
    );
  // Longest first: `body.selector.labels` before `body.selector`; a field is replaced whole only.
  const keys = Object.keys(flags).sort((a, b) => b.length - a.length);
  return keys.reduce(
    (text, key) =>
      text.replace(new RegExp(`\\b${key.replace(/[.[\]]/g, "\\$&")}(?![\\w.[])`, "g"), flags[key] ?? key),
    named,
  );
}

/** `waves[1].agents[0]` as the key path `["waves", 1, "agents", 0]`. */
function fieldPath(field: string): (string | number)[] {
  return [...field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map(([, key, index]) =>
    index === undefined ? (key ?? "") : Number(index),
  );
}

/**
 * `message` with each `PREFIX + name + ":"` of a name given put as `say(name)` says it, the longest
 * name first: `env` must not take the place of `env.eu`.
 */
function labelsNamed(
  message: string,
  fields: readonly (readonly [string, readonly string[], (key: string) => string])[],
): string {
  return fields.reduce(
    (text, [prefix, keys, say]) =>
      [...keys]
        .sort((a, b) => b.length - a.length)
        .reduce((done, key) => done.replaceAll(`${prefix}${key}:`, `${say(key)}:`), text),
    message,
  );
}

/** Runs `request`; a refusal it throws is said in the flag's terms (same status, so the same exit code). */
export async function refusedInFlagTerms<T>(request: Promise<T>, source: FlagSource): Promise<T> {
  try {
    return await request;
  } catch (error) {
    if (error instanceof HubRequestError && error.status < 500)
      throw new HubRequestError(error.status, inFlagTerms(error.message, source));
    throw error;
  }
}

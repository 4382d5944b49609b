/**
 * The hub names what it refuses or warns of by the API's fields (`body.waves[0] (canary)`,
 * `body.failureThreshold`); the rollout form has no such fields, only its labels and numbered wave
 * rows. Its messages say them as the form shows them, as the CLI says them as the flags typed.
 */

/** A wave's sub-field as the wave row labels it. */
const WAVE_FIELDS: Readonly<Record<string, string>> = {
  name: "Name",
  percent: "Value",
  labels: "Value",
  agents: "Value",
  waitMinutes: "Wait (min)",
  minSuccessRate: "Min success %",
};

/** The form's own fields, longest API name first (a field is replaced whole, with its sub-fields). */
const FORM_FIELDS: readonly [RegExp, string][] = [
  [/\bbody\.failureThreshold(?:\.\w+)?/g, "Halt when failures reach"],
  [/\bbody\.selector(?:\.labels)?(?:\.[\w./-]+)?/g, "Selector labels"],
  [/\bbody\.autoAdvance\b/g, "Advance waves automatically"],
  [/\bbody\.autoRollback\b/g, "Roll updated agents back"],
  [/\bbody\.release\b/g, "Release"],
  [/\bbody\.waves\b/g, "Waves"],
];

/**
 * `message` with each API field put as the form's field (`Wave 1 (canary) Value`, `Selector labels`).
 * `waveAgents`: each wave's agent ids as sent. One id of an agents wave is named by its place and
 * itself: "Value" alone left the operator to find which of a dozen ids the hub refused.
 */
export function inFormTerms(
  message: string,
  waveNames: readonly string[],
  waveAgents: readonly (readonly string[] | undefined)[] = [],
  /**
   * The selector's label names as sent: the hub names a refused one after `body.selector.labels.`
   * as written (any character), and "Selector labels" alone lost which of them it was.
   */
  selectorKeys: readonly string[] = [],
): string {
  // A labels wave's label is named as sent, up to the ": " that ends the field (any character but
  // that): `\w+` cut "my rack" at its space, and "Value" alone left which label unsaid.
  const waves = message.replace(
    /\bbody\.waves\[(\d+)\](?:\.labels\.(.+?)(?=: )|((?:\.\w+|\[\d+\])*)(?: \(([^)]*)\))?)/g,
    (
      _field,
      index: string,
      label: string | undefined,
      sub: string | undefined,
      named: string | undefined,
    ) => {
      const i = Number(index);
      const row = `Wave ${i + 1} (${named ?? waveNames[i] ?? "?"})`;
      if (label !== undefined) return `${row} ${WAVE_FIELDS.labels}, label ${quoted(label)}`;
      sub ??= "";
      const field = WAVE_FIELDS[/^\.(\w+)/.exec(sub)?.[1] ?? ""];
      const place = /^\.agents\[(\d+)\]/.exec(sub)?.[1];
      const id = place === undefined ? undefined : waveAgents[i]?.[Number(place)];
      const which =
        place === undefined
          ? ""
          : `, agent id ${Number(place) + 1}${id === undefined ? "" : ` ${JSON.stringify(id)}`}`;
      return `${row}${field === undefined ? "" : ` ${field}`}${which}`;
    },
  );
  // Longest first: `env` must not take the place of `env.eu`.
  const labelled = [...selectorKeys]
    .sort((a, b) => b.length - a.length)
    .reduce(
      (text, key) =>
        text.replaceAll(`body.selector.labels.${key}:`, `Selector labels, label ${quoted(key)}:`),
      waves,
    );
  return FORM_FIELDS.reduce((text, [pattern, label]) => text.replace(pattern, label), labelled);
}

/** A label name quoted for a one-line message, a long one cut at 40 characters. */
function quoted(key: string): string {
  return JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key);
}

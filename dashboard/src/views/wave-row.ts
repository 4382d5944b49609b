import { h } from "../dom.js";
import { decimalNumber, numberProblem, parseAgentIds, parseLabels } from "../format.js";
import type { WaveSpec } from "../types.js";

export interface WaveRow {
  element: HTMLLIElement;
  /** The wave as the API takes it; throws with a message naming the wave when a field is wrong. */
  spec(): WaveSpec;
}

type Kind = "percent" | "labels" | "agents";

let nextId = 0;

/** One editable wave: a name, who is in it (percent, labels or agent ids), wait and success rate. */
export function waveRow(
  position: number,
  values: { name?: string; kind?: Kind; value?: string } = {},
  onRemove: (row: WaveRow) => void,
): WaveRow {
  const id = `wave-${nextId++}`;
  const name = h("input", {
    id: `${id}-name`,
    name: "waveName",
    required: true,
    value: values.name ?? `wave ${position + 1}`,
  });
  const kind = h(
    "select",
    { id: `${id}-kind`, name: "waveKind" },
    h("option", { value: "percent" }, "percent of fleet"),
    h("option", { value: "labels" }, "labels"),
    h("option", { value: "agents" }, "agent ids"),
  );
  kind.value = values.kind ?? "percent";
  const value = h("input", { id: `${id}-value`, name: "waveValue", value: values.value ?? "100" });
  const wait = h("input", {
    id: `${id}-wait`,
    name: "waveWait",
    type: "number",
    min: 0,
    value: 0,
    step: "any",
  });
  const rate = h("input", {
    id: `${id}-rate`,
    name: "waveRate",
    type: "number",
    min: 0,
    max: 100,
    value: 100,
    step: "any",
  });
  const remove = h(
    "button",
    { type: "button", class: "secondary", "aria-label": "Remove this wave" },
    "Remove",
  );
  const cell = (label: string, control: HTMLElement) =>
    h("div", { class: "field" }, h("label", { for: control.id }, label), control);
  const element = h(
    "li",
    { class: "wave-row" },
    cell("Name", name),
    cell("Who", kind),
    cell("Value", value),
    cell("Wait (min)", wait),
    cell("Min success %", rate),
    remove,
  );
  const row: WaveRow = {
    element,
    spec() {
      const label = `wave "${name.value || "?"}"`;
      // The hub takes a fraction (≤ 1): its refusal of 1.5 would read as if this field wanted ≤ 1.
      const percentRate = decimalNumber(rate.value);
      if (percentRate === undefined || percentRate > 100)
        throw new Error(
          `${label}: Min success % ${numberProblem(rate.value, "must be a number from 0 to 100")}`,
        );
      // The hub takes the fraction in steps of 0.0001 (0.01 %): said here in the field's own terms,
      // and sent as that many ten-thousandths, since 0.07 / 100 is 0.0007000000000000001.
      const hundredths = Math.round(percentRate * 100);
      if (hundredths / 100 !== percentRate)
        throw new Error(`${label}: Min success % must be in steps of 0.01 (0.01 % is the smallest)`);
      // Left empty (or not a number the browser could read) it was sent as 0 without a word: a
      // wave meant to soak advanced at once.
      const waitMinutes = decimalNumber(wait.value);
      if (waitMinutes === undefined)
        throw new Error(
          `${label}: Wait (min) ${numberProblem(wait.value, "must be a number of minutes (0 for no wait)")}`,
        );
      const base = {
        name: name.value.trim(),
        waitMinutes,
        minSuccessRate: hundredths / 10_000,
      };
      const text = value.value.trim();
      if (kind.value === "percent") {
        // By the CLI's rule: "0x32" was 50 %, "1e1" 10 %, where `--wave NAME=0x32` is refused.
        const percent = decimalNumber(text.replace(/%$/, ""));
        if (percent === undefined)
          throw new Error(`${label}: percent ${numberProblem(text.replace(/%$/, ""), "must be a number")}`);
        return { ...base, percent };
      }
      if (kind.value === "labels") {
        let labels: Record<string, string>;
        try {
          labels = parseLabels(text);
        } catch (error) {
          throw new Error(`${label}: ${error instanceof Error ? error.message : String(error)}`);
        }
        // An empty field (or only commas) was labels {}: every agent left, the whole fleet in this
        // wave. The API's `labels: {}` says that on purpose; a field left empty does not (the CLI's
        // `--wave NAME=label:` is refused alike).
        if (Object.keys(labels).length === 0)
          throw new Error(`${label}: name at least one label, key=value (every agent left is a 100 % wave)`);
        return { ...base, labels };
      }
      try {
        return { ...base, agents: parseAgentIds(text) };
      } catch (error) {
        throw new Error(`${label}: ${error instanceof Error ? error.message : String(error)}`);
      }
    },
  };
  remove.addEventListener("click", () => onRemove(row));
  return row;
}

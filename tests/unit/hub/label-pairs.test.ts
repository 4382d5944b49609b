/**
 * A label value holding a comma, a quote or a backslash: the dashboard's label fields (the rollout
 * form's selector and a labels wave) split the list at every comma, so no form could choose an
 * agent reporting `zone = "rack a,b"`. Both the CLI's `--wave NAME=label:…` and the forms now read a
 * pair given whole in double quotes, as each shows it back; one rule, held alike here, and every
 * label set an agent can report comes back as itself once said and read again.
 */
import { describe, expect, it } from "vitest";
import {
  labelPairsText as formLabelPairsText,
  splitLabelList as formSplit,
  parseLabels,
  selectorText,
  waveRule,
} from "../../../dashboard/src/format.js";
import { labelPairsText, splitLabelList } from "../../../hub/label-pairs.js";

const SETS: Record<string, string>[] = [
  { zone: "rack a,b" },
  { zone: "rack a,b", ring: "main" },
  { note: 'say "hi", then go\\' },
  { path: "a\\b", semi: "x;y", eq: "k=v=w" },
  { quoted: '"', comma: ",", both: '","' },
  { plain: "prod" },
  // Shown escaped (`\u001b`): said bare, the escape typed back was text, no longer the character.
  { esc: "a\u001bb", zw: "can\u200bary", bell: "x\u0007", rtl: "\u202eab" },
];

describe("label pairs, said and read back", () => {
  it("the forms and the CLI split a list alike", () => {
    for (const text of [
      'zone=rack a, "zone=rack a,b", ring=main',
      ' "note=say \\"hi\\", then go\\\\" ,x=y,',
      "a=b,,c=d",
      "",
      '"a=,"',
    ])
      expect(formSplit(text), text).toEqual(splitLabelList(text));
    expect(splitLabelList('"zone=rack a,b", ring=main')).toEqual(["zone=rack a,b", "ring=main"]);
    for (const bad of ['"zone=rack a,b', '"zone=rack a"b, x=y', '"a=\\q"']) {
      expect(() => splitLabelList(bad), bad).toThrow(RangeError);
      expect(() => formSplit(bad), bad).toThrow();
    }
  });

  it("every label set comes back as itself from the selector's text and a labels wave's rule", () => {
    for (const labels of SETS) {
      expect(formLabelPairsText(labels)).toEqual(labelPairsText(labels));
      const readBack = splitLabelList(labelPairsText(labels).join(",")).map((pair) => pair.split(/=(.*)/su));
      expect(Object.fromEntries(readBack.map(([k, v]) => [k, v])), JSON.stringify(labels)).toEqual(labels);
      expect(parseLabels(selectorText(labels, "web")), JSON.stringify(labels)).toEqual(labels);
      const rule = waveRule({ name: "w", labels });
      expect(parseLabels(rule.replace(/^labels /, "")), JSON.stringify(labels)).toEqual(labels);
    }
  });
});

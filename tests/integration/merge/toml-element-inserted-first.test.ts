/**
 * review35: merge_toml, an array of tables (Telegraf's [[inputs.cpu]]) to which the release adds an
 * element BEFORE the one the operator has. README: "an element the release keeps, with the same
 * values, stays as you wrote it, comments and spellings included". The kept element's body stays
 * (its inline comments go along), but the comment lines above its header stay at the top of the
 * array: the operator's "# ops: the main cpu collector, alerting reads it" now sits above the
 * release's new debug element, and the release's own comment for that element ("# Per-core cpu
 * for debugging") is dropped, unsaid (0 warnings). Expected: the comment above the kept element
 * stays above it, the new element comes with the release's comment.
 */
import { afterEach, beforeEach, expect, it } from "vitest";
import { type LocalApp, localApp, updateOverEdits } from "../cli/local-app.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
});
afterEach(() => app.cleanup());

const manifest = (version: string) =>
  `version: "${version}"\nfiles:\n  "telegraf.conf":\n    action: merge_toml\n    merge_strategy: preserve_user\n`;

const cpu = '[[inputs.cpu]]\n  percpu = true\n  totalcpu = true\n  [inputs.cpu.tags]\n    role = "web"\n';
const v1 = `[agent]\n  interval = "10s"\n\n# Read metrics about cpu usage\n${cpu}`;
const edited = v1
  .replace(
    "# Read metrics about cpu usage\n",
    "# Read metrics about cpu usage\n# ops: the main cpu collector, alerting reads it\n",
  )
  .replace('    role = "web"\n', '    role = "web"   # ops: set by ansible\n');
const debug =
  '# Per-core cpu for debugging\n[[inputs.cpu]]\n  percpu = true\n  totalcpu = false\n  [inputs.cpu.tags]\n    role = "debug"\n\n';
const v2 = v1.replace("# Read metrics about cpu usage\n", `${debug}# Read metrics about cpu usage\n`);

it("the operator's comment above a kept element stays above that element, not above the new one", async () => {
  const { read } = await updateOverEdits(app, manifest, {
    v1: { "telegraf.conf": v1 },
    edited: { "telegraf.conf": edited },
    v2: { "telegraf.conf": v2 },
  });
  const out = await read("telegraf.conf");
  expect(out).toContain('role = "web"   # ops: set by ansible');
  const opsComment = out.indexOf("# ops: the main cpu collector");
  expect(opsComment).toBeGreaterThan(out.indexOf('role = "debug"'));
  expect(out).toContain("# Per-core cpu for debugging");
});

/**
 * A merged TOML config nested 5,000 tables deep (dotted keys) passed the check before the hooks,
 * then ran the merge out of stack at the apply: exit 1, "update failed at apply: Maximum call stack
 * size exceeded", the pre_update hooks already run. It is bad input: exit 2 naming the file and
 * how deep it nests, before any hook, the app untouched. So is a YAML one nested thousands deep in
 * block style (indented lists), which said "does not parse: Maximum call stack size exceeded".
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
});
afterEach(() => app.cleanup());

const manifest = (file: string, version: string, hook = "") =>
  `version: "${version}"\nfiles:\n  "${file}":\n    action: merge_${file.split(".")[1]}\n${hook}`;

const DEEP: [string, string][] = [
  ["config.toml", `${"a.".repeat(5000)}x = 2\nx = 1\n`],
  [
    "config.yaml",
    `x: 1\na:\n${Array.from({ length: 3000 }, (_, i) => `${"  ".repeat(i)}-\n`).join("")}${"  ".repeat(3000)}2\n`,
  ],
];

it.each(DEEP)(
  "%s nested past the merge's limit: exit 2 naming the file, before the hooks, nothing changed",
  async (file, deep) => {
    await app.release("v1", manifest(file, "1.0.0"), {
      [file]: file.endsWith(".toml") ? "x = 1\n" : "x: 1\n",
    });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await writeFile(join(app.appDir, file), deep);
    const marker = join(app.root, "pre-update-ran");
    await app.release("v2", manifest(file, "2.0.0", `hooks:\n  pre_update:\n    - "touch ${marker}"\n`), {
      [file]: file.endsWith(".toml") ? "x = 1\ny = 2\n" : "x: 1\ny: 2\n",
    });
    const run = await runShip(["--config", app.config]);
    const said = run.stdout + run.stderr;
    expect(run.code, said).toBe(2);
    expect(said).toContain(
      `${app.appDir}/${file}${file.endsWith(".yaml") ? ":502:999" : ""} cannot merge: the server's copy does not parse: it nests tables and lists more than 500 levels deep`,
    );
    expect(said).not.toContain("call stack");
    expect(await readFile(join(app.appDir, file), "utf8")).toBe(deep);
    await expect(readFile(marker)).rejects.toThrow();
    expect((await app.state()).sources.myapp?.current_version).toBe("1.0.0");
  },
);

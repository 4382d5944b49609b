/**
 * A `chmod` of a file ship installed is no edit (README: "changed on this host" is judged by
 * content): the update that replaces it does not warn of a change made here, and a rollback of that
 * update takes the file as ship's, not as the operator's to leave alone. The planner and the
 * restore judge it with the one stat test (stat-match.ts), then by content.
 */
import { chmod, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runShip } from "../../support/ship-cli.js";
import { type LocalApp, localApp } from "./local-app.js";

let app: LocalApp;
beforeEach(async () => {
  app = await localApp();
});
afterEach(async () => {
  await app.cleanup();
});

describe("a chmod of an installed file", () => {
  it("is not 'changed on this host' for the update that replaces it, and its rollback restores it", async () => {
    await app.release("v1", 'version: "1.0.0"\n', { "app.py": "print(1)\n" });
    expect((await runShip(["--config", app.config])).code).toBe(0);
    await chmod(join(app.appDir, "app.py"), 0o600);
    await app.release("v2", 'version: "2.0.0"\n', { "app.py": "print(2)\n" });
    const update = await runShip(["--config", app.config]);
    expect(update.code, update.stderr).toBe(0);
    expect(`${update.stdout}${update.stderr}`).not.toContain("changed on this host");
    expect(await readFile(join(app.appDir, "app.py"), "utf8")).toBe("print(2)\n");
    await chmod(join(app.appDir, "app.py"), 0o640);
    const listed = JSON.parse(
      (await runShip(["--config", app.config, "--list-backups", "--json"])).stdout,
    ) as {
      id: string;
      version: string | null;
    }[];
    const toV1 = listed.find((b) => b.version === "1.0.0");
    const rollback = await runShip(["--config", app.config, "--rollback", toV1?.id ?? ""]);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(`${rollback.stdout}${rollback.stderr}`).not.toContain("left alone");
    expect(await readFile(join(app.appDir, "app.py"), "utf8")).toBe("print(1)\n");
  });
});

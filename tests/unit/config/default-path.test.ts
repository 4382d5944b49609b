import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultConfigPath, SYSTEM_CONFIG_PATH } from "../../../shared/config/load.js";

describe("defaultConfigPath", () => {
  it("prefers ./ship.toml when the directory has one, else /etc/ship/ship.toml", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ship-cwd-"));
    try {
      expect(defaultConfigPath(dir)).toBe(SYSTEM_CONFIG_PATH);
      expect(SYSTEM_CONFIG_PATH).toBe("/etc/ship/ship.toml");
      await writeFile(join(dir, "ship.toml"), "");
      expect(defaultConfigPath(dir)).toBe(join(dir, "ship.toml"));
      // A ./ship.toml linked to a volume not mounted is still the one meant, not /etc/ship/ship.toml.
      await rm(join(dir, "ship.toml"));
      await symlink(join(dir, "not-mounted/ship.toml"), join(dir, "ship.toml"));
      expect(defaultConfigPath(dir)).toBe(join(dir, "ship.toml"));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

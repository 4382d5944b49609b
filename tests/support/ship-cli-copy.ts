import { cp } from "node:fs/promises";
import { dirname, join } from "node:path";
import { SHIP_BIN } from "./ship-cli.js";

/**
 * The agent CLI's bin and bundle copied into `dir` (`dir/main.cjs`, `dir/bundle/`) without the
 * code caches other runs wrote beside dist's bundle: a test of the cache meets only its own.
 */
export async function copyShipCli(dir: string): Promise<void> {
  await cp(join(dirname(SHIP_BIN), "bundle"), join(dir, "bundle"), {
    recursive: true,
    filter: (src) => !src.endsWith(".v8cache"),
  });
  await cp(SHIP_BIN, join(dir, "main.cjs"));
}

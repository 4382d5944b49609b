/**
 * A release file copied into the app (staging on another filesystem than the app, as the default
 * /var/lib/ship is for apps under /srv) is written as `<name>.ship-tmp` beside its target, a name
 * known in advance, in a directory the app's user may own (`chown -R www-data plugins`). That user
 * put a symlink there while ship, as root, was about to write it: ship wrote the release's bytes
 * through it into a root-only file elsewhere on the host; one swapped in for the copy once it was
 * written had a rollback's chmod make that file the copy's mode (644), and one swapped in for a
 * directory ship had just made there, the directory's (755). The run is held at those moments
 * with SIGSTOP (SHIP_FAULT=copy:before-write:stop, copy:written:stop, mkdir:made:stop); the symlink
 * is made by a real process of another user (nobody).
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asRoot, NOBODY } from "../../support/as-nobody.js";
import { runShip, startShip } from "../../support/ship-cli.js";
import { mountTmpfs, unmountTmpfs } from "../../support/tmpfs.js";
import { waitFor } from "../../support/wait-for.js";

const run = promisify(execFile);

describe.runIf(asRoot)(
  "a symlink put at a copy's temporary name (real ship as root, app user nobody)",
  () => {
    let root: string;
    let appFs: string;
    let mounted = false;
    beforeAll(async () => {
      root = await mkdtemp(join(tmpdir(), "ship-copy-tmp-"));
      await chmod(root, 0o755);
      appFs = join(root, "srv");
      await mkdir(appFs);
      mounted = mountTmpfs(appFs, "4m");
    });
    afterAll(async () => {
      if (mounted) unmountTmpfs(appFs);
      await rm(root, { recursive: true, force: true });
    });

    async function release(name: string, version: string, extra: Record<string, string> = {}): Promise<void> {
      const dir = join(root, name);
      await mkdir(join(dir, "plugins"), { recursive: true });
      await writeFile(join(dir, "update-manifest.yaml"), `version: "${version}"\n`);
      await writeFile(join(dir, "plugins/a.txt"), `plugin of ${version}\n`);
      for (const [rel, text] of Object.entries(extra)) {
        await mkdir(join(dir, rel, ".."), { recursive: true });
        await writeFile(join(dir, rel), text);
      }
      await writeFile(
        join(root, "ship.toml"),
        // State, staging and backups on /tmp's filesystem, the app on the tmpfs: installing copies.
        `[general]\nstate_file = "${root}/var/state.json"\nbackup_dir = "${root}/var/backups"\nmin_interval_hours = 0\n\n` +
          `[sources.myapp]\ntype = "local"\npath = "${dir}"\napp_dir = "${appFs}/app"\n`,
      );
    }

    /**
     * Runs ship with `args`, held at every `point`; at each stop the app's user (nobody) runs `sh -c
     * script` (with $PLUGINS the app user's directory, $LINK the temporary's name there, $VICTIM the
     * root-only file). A stop is a new one once the process has run since the last (its run time,
     * /proc/PID/schedstat).
     */
    async function heldAtEachCopy(args: string[], point: string, script: string) {
      const update = startShip(["--config", join(root, "ship.toml"), ...args], {
        env: { SHIP_FAULT: `${point}:stop` },
      });
      const pid = update.child.pid ?? 0;
      let exited = false;
      void update.done.then(() => {
        exited = true;
      });
      const proc = (file: string) => {
        try {
          return readFileSync(`/proc/${pid}/${file}`, "utf8");
        } catch {
          return ""; // gone
        }
      };
      let ranAt = "";
      let stops = 0;
      for (;;) {
        await waitFor(
          `ship stopped at ${point}, or done`,
          async () => exited || (/^\S+ \(.*\) T/s.test(proc("stat")) && proc("schedstat") !== ranAt),
          { timeoutMs: 20_000, intervalMs: 10, where: root },
        );
        if (exited) break;
        stops++;
        await run("sh", ["-c", script], {
          uid: NOBODY.uid,
          gid: NOBODY.gid,
          env: {
            PATH: process.env.PATH,
            PLUGINS: plugins(),
            LINK: join(plugins(), "a.txt.ship-tmp"),
            VICTIM: victim(),
          },
        }).catch(() => undefined);
        ranAt = proc("schedstat");
        update.child.kill("SIGCONT");
      }
      expect(stops).toBeGreaterThan(0);
      const result = await update.done;
      return { ...result, output: result.stdout + result.stderr };
    }
    const plugins = () => join(appFs, "app/plugins");
    const victim = () => join(root, "root-only.conf");

    /** v1 installed, its plugins directory handed to the app's user, a root-only file beside. */
    async function installed(): Promise<void> {
      await release("v1", "1.0.0");
      const first = await runShip(["--config", join(root, "ship.toml")]);
      expect(first.code, first.stderr).toBe(0);
      await chown(plugins(), NOBODY.uid, NOBODY.gid);
      await chown(join(plugins(), "a.txt"), NOBODY.uid, NOBODY.gid);
      await writeFile(victim(), "root's secret\n", { mode: 0o600 });
    }
    async function victimIntact(): Promise<void> {
      expect(await readFile(victim(), "utf8")).toBe("root's secret\n");
      expect(((await stat(victim())).mode & 0o777).toString(8)).toBe("600");
    }

    it("an update does not write through one put there before the copy", async (context) => {
      if (!mounted) context.skip();
      await installed();
      await release("v2", "2.0.0");
      const update = await heldAtEachCopy([], "copy:before-write", 'ln -s "$VICTIM" "$LINK"');
      await victimIntact();
      // The update is refused, naming what appeared, and the app keeps its release.
      expect(update.code, update.output).not.toBe(0);
      expect(update.output).toContain("a.txt.ship-tmp appeared while ship was writing it");
      expect(await readFile(join(plugins(), "a.txt"), "utf8")).toBe("plugin of 1.0.0\n");
    });

    it("a rollback does not set the mode of one swapped in for its copy", async (context) => {
      if (!mounted) context.skip();
      // The update of the first case was refused: this one installs 2.0.0, then rolls back to 1.0.0,
      // copying the app user's a.txt back from the backup.
      await release("v2b", "2.0.0");
      const update = await runShip(["--config", join(root, "ship.toml")]);
      expect(update.code, update.stdout + update.stderr).toBe(0);
      const listed = await runShip(["--config", join(root, "ship.toml"), "--list-backups", "--json"]);
      const backups = JSON.parse(listed.stdout) as { id: string; version: string }[];
      const id = backups.find((b) => b.version === "1.0.0")?.id ?? "";
      expect(id, listed.stdout).not.toBe("");
      const rollback = await heldAtEachCopy(
        ["--rollback", id],
        "copy:written",
        '[ -e "$LINK" ] && rm -f "$LINK" && ln -s "$VICTIM" "$LINK"',
      );
      await victimIntact();
      expect(rollback.output).toContain("a.txt.ship-tmp: it was replaced by a symlink");
    });

    it("an update does not set the mode of one swapped in for a directory it just made", async (context) => {
      if (!mounted) context.skip();
      // 2.0.0 is installed (the case above): 3.0.0 adds plugins/extra/, made by ship in the app
      // user's directory, which that user swaps for a link to the root-only file.
      await release("v3", "3.0.0", { "plugins/extra/b.txt": "b\n" });
      const update = await heldAtEachCopy(
        [],
        "mkdir:made",
        '[ -d "$PLUGINS/extra" ] && rmdir "$PLUGINS/extra" && ln -s "$VICTIM" "$PLUGINS/extra"',
      );
      await victimIntact();
      expect(update.code, update.output).not.toBe(0);
      expect(update.output).toContain("plugins/extra: it was replaced by a symlink");
    });
  },
);

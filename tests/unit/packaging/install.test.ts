/**
 * The one install path: `npm pack`, then scripts/install.sh (npm install -g of that tarball). The
 * tarball is checked here as npm builds it: executable bins with a shebang, the dashboard inside,
 * the example configs the README copies (valid for ship's schemas), the units and the script. An
 * unpacked copy whose dashboard is missing starts with a loud warning and answers / with 503.
 * SHIP_TEST_INSTALL=1 also runs install.sh into an empty prefix (needs the npm registry; minutes).
 */
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { parse as parseToml } from "smol-toml";
import { create, extract, list } from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HubConfig } from "../../../hub/config/schema.js";
import { parseConfigText } from "../../../shared/config/load.js";

const run = promisify(execFile);
let dir: string;
let tarball: string;
const entries = new Map<string, number>();

beforeAll(async () => {
  if (!existsSync(resolve("dist/hub/cli/main.js"))) throw new Error("build first (npm run build)");
  dir = await mkdtemp(join(tmpdir(), "ship-pack-"));
  const { stdout } = await run("npm", ["pack", "--pack-destination", dir, "--json"], { cwd: resolve(".") });
  const [packed] = JSON.parse(stdout) as { filename: string }[];
  tarball = join(dir, packed?.filename ?? "");
  await list({
    file: tarball,
    onReadEntry: (e) => entries.set(e.path.replace(/^package\//, ""), e.mode ?? 0),
  });
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function startHub(
  main: string,
  dataDir: string,
): Promise<{ child: ChildProcess; url: string; err: () => string }> {
  const child = spawn(process.execPath, [main, "serve", "--port", "0", "--data-dir", dataDir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr?.on("data", (c: Buffer) => {
    err += c.toString();
  });
  const url = await new Promise<string>((ok, fail) => {
    let out = "";
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) ok(m[1]);
    });
    child.once("exit", (code) => fail(new Error(`hub exited ${code}: ${err}`)));
  });
  return { child, url, err: () => err };
}

describe("the packed package (npm pack)", () => {
  it("holds executable bins with a shebang, the dashboard, the example configs, the units and install.sh", async () => {
    for (const bin of [
      "dist/agent/cli/main.cjs",
      "dist/agent/cli/main.js",
      "dist/hub/cli/main.js",
      "scripts/install.sh",
    ])
      expect((entries.get(bin) ?? 0) & 0o111, bin).toBe(0o111);
    for (const file of [
      "dashboard/static/index.html",
      "dashboard/static/app.css",
      "dist/dashboard/main.js",
      "dist/agent/cli/bundle/ship.js", // the bundled agent CLI the bin stub imports
      "dist/agent/cli/bundle/ship.js.map",
      "examples/ship.toml",
      "examples/hub.toml",
      "systemd/ship-hub.service",
      "systemd/ship-agent.service",
      "systemd/ship.service",
      "systemd/ship.timer",
    ])
      expect(entries.has(file), file).toBe(true);
    expect([...entries.keys()].some((f) => f.startsWith("tests/"))).toBe(false);
    for (const main of ["agent/cli/main.cjs", "agent/cli/main.js", "hub/cli/main.js"])
      expect(await readFile(resolve(`dist/${main}`), "utf8")).toMatch(/^#!\/usr\/bin\/env node\n/);
    const pkg = JSON.parse(await readFile(resolve("package.json"), "utf8")) as {
      bin: Record<string, string>;
    };
    expect(pkg.bin).toEqual({ ship: "dist/agent/cli/main.cjs", "ship-hub": "dist/hub/cli/main.js" });
    // The bin's old path still runs it: systemd units written for older releases name it.
    for (const bin of ["dist/agent/cli/main.cjs", "dist/agent/cli/main.js"]) {
      const run = spawnSync(process.execPath, [resolve(bin), "--version"], { encoding: "utf8" });
      expect(run.stdout.trim(), bin).toBe((pkg as unknown as { version: string }).version);
    }
  });

  it("the example configs the README copies pass ship's schemas, with the port the README uses", async () => {
    // parseConfigText throws on errors; warnings would be unknown keys.
    const ship = parseConfigText(await readFile(resolve("examples/ship.toml"), "utf8"), "examples/ship.toml");
    expect(ship.warnings).toEqual([]);
    expect(ship.config.sources.myapp?.app_dir).toBe("/opt/myapp");
    const hub = HubConfig.parse(parseToml(await readFile(resolve("examples/hub.toml"), "utf8")));
    expect(hub).toMatchObject({ port: 8080, data_dir: "/var/lib/ship-hub" });
    const readme = await readFile(resolve("README.md"), "utf8");
    expect(readme).not.toMatch(/:8443/);
    expect(readme).toContain("scripts/install.sh");
  });

  it("install.sh run by a user other than root stops at once: exit 2, one line naming root, nothing written", () => {
    // As another user it failed in npm's EACCES pages (exit 243), or in useradd, halfway.
    const prefix = join(dir, "not-root-prefix");
    const env = { ...process.env, SHIP_PREFIX: prefix, SHIP_NO_USERS: "" };
    const script = resolve("scripts/install.sh");
    const asRoot = process.getuid?.() === 0;
    // A tarball that user can read (mkdtemp's directory is the test's own, mode 700).
    const readable = mkdtempSync(join(tmpdir(), "ship-pack-readable-"));
    chmodSync(readable, 0o755);
    const copy = join(readable, "ship.tgz");
    copyFileSync(tarball, copy);
    chmodSync(copy, 0o644);
    const result = asRoot
      ? spawnSync("runuser", ["-u", "nobody", "--", "sh", script, copy], { env, encoding: "utf8" })
      : spawnSync("sh", [script, copy], { env, encoding: "utf8" });
    rmSync(readable, { recursive: true, force: true });
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/^install\.sh: run it as root \(.*SHIP_NO_USERS=1.*\n$/);
    expect(existsSync(prefix)).toBe(false);
  });

  it("a copy without its dashboard warns loudly at start and answers / with 503 naming what is missing", {
    timeout: 60_000,
  }, async () => {
    const root = join(dir, "unpacked");
    await run("mkdir", ["-p", root]);
    await extract({ file: tarball, cwd: root, strip: 1 });
    await rm(join(root, "dashboard"), { recursive: true, force: true });
    await symlink(resolve("node_modules"), join(root, "node_modules"));
    const hub = await startHub(join(root, "dist/hub/cli/main.js"), join(dir, "data"));
    try {
      expect(hub.err()).toMatch(/WARNING: dashboard assets missing .*index\.html/);
      const res = await fetch(`${hub.url}/`);
      expect(res.status).toBe(503);
      expect(await res.text()).toMatch(/dashboard is not installed: missing .*index\.html/);
    } finally {
      hub.child.kill("SIGKILL");
    }
  });
});

/**
 * install.sh for real, twice: into an empty prefix as any user, and as root with its service users
 * where it cannot change this machine (a private mount namespace over copies of /etc, /opt,
 * /var/lib and /usr/local/bin). install.sh once wrote ship.toml root-owned 600, so `runuser -u ship
 * -- ship --check-only` (the README's first check) and every service start were exit 2 "cannot read
 * the config: permission denied". The two run side by side.
 */
describe
  .skipIf(process.env.SHIP_TEST_INSTALL !== "1")
  .concurrent("install.sh of the packed tarball (SHIP_TEST_INSTALL=1)", () => {
    /**
     * The SQLite addon the upgrade and the root install take, as prebuild-install would the one it
     * downloads where GitHub is reachable: the one `npm ci` built for this repository, on this
     * machine and Node. The first install into an empty prefix compiles it from source, as on a
     * machine with no way to GitHub (CI's, an operator's behind a firewall): that is the path the
     * README's install steps take there, so it stays proven once; the other two compiles (about a
     * core for a minute each) proved nothing more. prebuild-install reads local-prebuilds from a
     * .prebuild-installrc above the package and require()s what it unpacks. Named by the
     * repository's version: were the registry's newest 12.x another, the name would not match and
     * the install would compile (slower, as right).
     */
    let prebuildRc: string;
    beforeAll(async () => {
      const addon = resolve("node_modules/better-sqlite3");
      const { version } = JSON.parse(await readFile(join(addon, "package.json"), "utf8")) as {
        version: string;
      };
      const prebuilds = join(dir, "prebuilds");
      await mkdir(prebuilds, { recursive: true });
      const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-linux-${process.arch}.tar.gz`;
      await create({ gzip: true, file: join(prebuilds, name), cwd: addon }, [
        "build/Release/better_sqlite3.node",
      ]);
      prebuildRc = `local-prebuilds=${prebuilds}\n`;
    });

    it("install.sh into an empty prefix gives working ship and ship-hub with the dashboard", {
      timeout: 900_000,
    }, async () => {
      const root = join(dir, "root");
      // Config and state under a directory named like the package's default (/opt/ship/etc, the
      // "everything in one place" layout): install.sh rewrites /opt/ship/ in the units to the package
      // path, and used to rewrite these paths too once put in (--config …/lib/node_modules/ship/etc/…).
      const etc = join(root, "opt/ship/etc");
      const state = join(root, "opt/ship/var");
      const env = {
        ...process.env,
        SHIP_PREFIX: join(root, "opt"),
        SHIP_BIN_DIR: join(root, "bin"),
        SHIP_ETC: etc,
        SHIP_STATE: state,
        SHIP_UNIT_DIR: join(root, "units"),
        SHIP_NO_USERS: "1",
      };
      const installed = await run("sh", [resolve("scripts/install.sh"), tarball], {
        env,
        maxBuffer: 1 << 24,
      });
      // Every install script npm meets is allowed or not by name: no "not yet covered" warning
      // (npm 11 printed one for ssh2 and cpu-features at every install; npm 12 would skip them).
      expect(installed.stderr).not.toContain("install-scripts");
      expect((await run(join(root, "bin/ship"), ["--version"])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
      const unit = await readFile(join(root, "units/ship-hub.service"), "utf8");
      expect(unit).toContain(join(root, "opt/lib/node_modules/ship/dist/hub/cli/main.js"));
      // The units run the node npm installed with, from the prefix, wherever that node lives.
      const node = (await run("sh", ["-c", "command -v node"])).stdout.trim();
      const timerService = await readFile(join(root, "units/ship.service"), "utf8");
      expect(timerService).toContain(
        `ExecStart=${node} ${join(root, "opt/lib/node_modules/ship/dist/agent/cli/main.cjs")} --config`,
      );
      expect(timerService).toContain(`WorkingDirectory=${join(root, "opt")}\n`);
      // SHIP_ETC and SHIP_STATE reach the units and the example configs: the timer's ship must read
      // the config install.sh wrote and keep state where install.sh made (and chowned) it.
      expect(timerService).toContain(`--config ${join(etc, "ship.toml")}\n`);
      expect(timerService).toContain(`ReadWritePaths=${join(state, "ship")} `);
      expect(unit).toContain(`serve --config ${join(etc, "hub.toml")}\n`);
      expect(unit).toContain(`ReadWritePaths=${join(state, "ship-hub")}\n`);
      for (const file of ["ship.service", "ship-agent.service", "ship-hub.service"]) {
        const text = await readFile(join(root, "units", file), "utf8");
        expect(text, file).not.toMatch(/\/etc\/ship\/|\/var\/lib\/ship/);
      }
      const shipToml = parseConfigText(await readFile(join(etc, "ship.toml"), "utf8"), "ship.toml");
      expect(shipToml.config.general.backup_dir).toBe(join(state, "ship/backups"));
      const hubToml = parseToml(await readFile(join(etc, "hub.toml"), "utf8")) as { data_dir?: string };
      expect(hubToml.data_dir).toBe(join(state, "ship-hub"));
      const hub = await startHub(join(root, "bin/ship-hub"), join(root, "data"));
      try {
        expect((await fetch(`${hub.url}/`)).status).toBe(200);
      } finally {
        hub.child.kill("SIGKILL");
      }
      // The upgrade (install.sh again) keeps the app directories the operator listed in the units,
      // as the README has them do: it used to write /opt/myapp back, and the apps were read-only.
      // A unit from before the host's app locks lacks their /run/lock line: the upgrade adds it
      // (under ProtectSystem=strict every run found /run/lock read-only).
      expect(timerService).toContain("\nReadWritePaths=-/run/lock\n");
      const edited = timerService.replace(
        /^ReadWritePaths=.*$/m,
        `ReadWritePaths=${join(state, "ship")} /srv/app1`,
      );
      await writeFile(join(root, "units/ship.service"), edited.replace("ReadWritePaths=-/run/lock\n", ""));
      await writeFile(join(root, ".prebuild-installrc"), prebuildRc);
      await run("sh", [resolve("scripts/install.sh"), tarball], { env, maxBuffer: 1 << 24 });
      expect(await readFile(join(root, "units/ship.service"), "utf8")).toBe(edited);
      expect(await readFile(join(root, "units/ship-hub.service"), "utf8")).toBe(unit);
      // The upgraded hub opens its SQLite store and serves the dashboard.
      const upgraded = await startHub(join(root, "bin/ship-hub"), join(root, "data-upgraded"));
      try {
        expect((await fetch(`${upgraded.url}/`)).status).toBe(200);
      } finally {
        upgraded.child.kill("SIGKILL");
      }
    });

    it.skipIf(process.getuid?.() !== 0)(
      "as root with its service users (unshare): user ship reads the ship.toml install.sh wrote, as the units run it",
      {
        timeout: 900_000,
      },
      async () => {
        const root = join(dir, "ns");
        const copies = { etc: "/etc", opt: "/opt", varlib: "/var/lib", bin: "/usr/local/bin" };
        await run("sh", [
          "-c",
          `mkdir -p ${Object.keys(copies)
            .map((d) => join(root, d))
            .join(" ")} && cp -a /etc/. ${root}/etc/ && rm -rf ${root}/etc/ship`,
        ]);
        // Found above the package, which lands in /opt/ship (this copy of /opt, mounted there).
        await writeFile(join(root, "opt/.prebuild-installrc"), prebuildRc);
        const mounts = Object.entries(copies).map(([copy, at]) => `mount --bind ${join(root, copy)} ${at}`);
        const script = [
          ...mounts,
          `SHIP_UNIT_DIR=${join(root, "units")} sh ${resolve("scripts/install.sh")} ${tarball} >/dev/null 2>&1`,
          "stat -c '%U %a' /etc/ship/ship.toml",
          'runuser -u ship -- ship --config /etc/ship/ship.toml --list-backups; echo "exit $?"',
        ].join(" && ");
        const { stdout } = await run("unshare", ["-m", "sh", "-c", script], { maxBuffer: 1 << 24 });
        expect(stdout).toBe("ship 600\nno backups in /var/lib/ship/backups\nexit 0\n");
      },
    );
  });

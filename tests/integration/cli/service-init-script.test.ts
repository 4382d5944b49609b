import { randomBytes } from "node:crypto";
import { access, constants, existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { processRunning } from "../../support/process-alive.js";
import { runShip } from "../../support/ship-cli.js";

/**
 * The seed's `required_services: ["postgresql"]` on a host without systemd (a container that
 * starts PostgreSQL with `service postgresql start`): the process is `postgres`, so searching the
 * process list for `postgresql` found nothing and the update was refused with PostgreSQL up. A
 * service's SysV init script answers for it there, as `service NAME status` does. The script here
 * is a real one in /etc/init.d under a name no process has, running or not as a flag file says.
 */
const initDir = "/etc/init.d";
const writable = await promisify(access)(initDir, constants.W_OK).then(
  () => true,
  () => false,
);
const systemd = existsSync("/run/systemd/system");

describe.skipIf(!writable || systemd)("required_services and service_running() where no systemd runs", () => {
  const name = `ship-test-db-${randomBytes(4).toString("hex")}`;
  const script = join(initDir, name);
  let dir: string;
  let flag: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ship-initd-"));
    flag = join(dir, "running");
    await writeFile(
      script,
      `#!/bin/sh\ncase "$1" in\n  status) if [ -f ${flag} ]; then echo "${name} is running"; exit 0; else echo "${name} is not running"; exit 3; fi ;;\n  *) exit 1 ;;\nesac\n`,
      { mode: 0o755 },
    );
    await writeFile(
      join(dir, "m.yaml"),
      `version: "2.0.0"\nrequirements:\n  required_services: ["${name}"]\nconditionals:\n  - condition: "service_running('${name}')"\n    action: skip_update\n    message: "db is up"\n`,
    );
  });
  afterAll(async () => {
    await rm(script, { force: true });
    await rm(dir, { recursive: true, force: true });
  });

  it("its init script says running: the requirement is met and service_running() is true", async () => {
    await writeFile(flag, "");
    const req = await runShip(["--check-requirements", join(dir, "m.yaml"), "--app-dir", dir]);
    expect(req.code, req.stdout + req.stderr).toBe(0);
    expect(req.stdout).toContain(
      `ok   required_services.${name}: running (no systemd on this host: ${script} status says so)`,
    );
    const cond = await runShip(["--test-conditionals", join(dir, "m.yaml"), "--app-dir", dir, "--json"]);
    expect(cond.code, cond.stderr).toBe(0);
    expect(JSON.parse(cond.stdout)).toMatchObject({ decision: "skip" });
  });

  it("its init script says not running: unmet, exit 1, naming both searches", async () => {
    await rm(flag, { force: true });
    const req = await runShip(["--check-requirements", join(dir, "m.yaml"), "--app-dir", dir]);
    expect(req.code).toBe(1);
    expect(req.stdout).toContain(`FAIL required_services.${name}: no process named ${name} is running`);
    expect(req.stdout).toContain(`and ${script} status says it is not running`);
    const cond = await runShip(["--test-conditionals", join(dir, "m.yaml"), "--app-dir", dir, "--json"]);
    expect(JSON.parse(cond.stdout)).toMatchObject({ decision: "proceed" });
  });

  it("an init script that cannot run or gives no answer is said so, not read as 'says it is not running'", async () => {
    const hung = `${name}-hung`;
    const busy = `${name}-busy`;
    const forks = `${name}-forks`;
    const plain = `${name}-plain`;
    const pids = { busy: join(dir, "busy.pid"), forks: join(dir, "forks.pid") };
    const left: number[] = [];
    // A status that never answers (a script waiting on a lock); one that waits on a command it
    // started; one that answers "running" at once but leaves a command it started holding its
    // output (a helper forked without a redirect); and one left without its x bit.
    await writeFile(join(initDir, hung), "#!/bin/sh\nexec sleep 60\n", { mode: 0o755 });
    await writeFile(join(initDir, busy), `#!/bin/sh\nsleep 300 &\necho $! > ${pids.busy}\nwait\n`, {
      mode: 0o755,
    });
    await writeFile(join(initDir, forks), `#!/bin/sh\nsleep 300 &\necho $! > ${pids.forks}\nexit 0\n`, {
      mode: 0o755,
    });
    await writeFile(join(initDir, plain), "#!/bin/sh\nexit 0\n", { mode: 0o644 });
    try {
      await writeFile(
        join(dir, "m2.yaml"),
        `version: "2.0.0"\nrequirements:\n  required_services: ["${hung}", "${busy}", "${forks}", "${plain}"]\n`,
      );
      const req = await runShip(["--check-requirements", join(dir, "m2.yaml"), "--app-dir", dir], {
        timeoutMs: 40_000,
      });
      left.push(Number(await readFile(pids.busy, "utf8")), Number(await readFile(pids.forks, "utf8")));
      expect(req.code).toBe(1);
      expect(req.stdout).toContain(`FAIL required_services.${hung}: no process named ${hung} is running`);
      expect(req.stdout).toContain(`and ${initDir}/${hung} status gave no answer in 10 s (killed)`);
      expect(req.stdout).toContain(`and ${initDir}/${busy} status gave no answer in 10 s (killed)`);
      // Its answer is its exit status: it was waited on until the time ran out, and read as none.
      expect(req.stdout).toContain(
        `ok   required_services.${forks}: running (no systemd on this host: ${initDir}/${forks} status says so)`,
      );
      expect(req.stdout).toContain(`and ${initDir}/${plain} could not be run (not executable: chmod +x it)`);
      expect(req.stdout).not.toContain("says it is not running");
      // Nothing the scripts started is left running: under `ship agent` each check left one more.
      expect(left.filter((pid) => processRunning(pid))).toEqual([]);
    } finally {
      for (const pid of left) if (processRunning(pid)) process.kill(pid, "SIGKILL");
      for (const script of [hung, busy, forks, plain]) await rm(join(initDir, script), { force: true });
    }
  }, 60_000);
});

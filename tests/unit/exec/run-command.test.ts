import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runTestWithRetries } from "../../../agent/exec/retry.js";
import { describeFailure, MAX_QUOTED_LINE, runCommand } from "../../../agent/exec/run-command.js";
import { memoryLogger } from "../../../shared/log.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ship-exec-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const env = () => ({ app: "myapp", version: "2.0.0", previousVersion: "1.0.0", appDir: dir });

/** A killed process whose parent is gone may linger as a zombie until init reaps it: that is dead. */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

describe("runCommand", () => {
  it("runs in the app dir with the SHIP_* environment and captures output into the log", async () => {
    const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
    const result = await runCommand(
      'pwd; echo "$SHIP_APP $SHIP_VERSION $SHIP_PREVIOUS_VERSION $SHIP_APP_DIR"',
      {
        cwd: dir,
        timeoutSeconds: 10,
        env: env(),
        log: memoryLogger(lines),
        label: "pre_update[0]",
      },
    );
    expect(result.ok).toBe(true);
    const [cwd, vars] = result.stdout.trim().split("\n");
    expect(cwd).toBe(dir);
    expect(vars).toBe(`myapp 2.0.0 1.0.0 ${dir}`);
    const logged = lines.find((l) => l.msg === "pre_update[0] succeeded");
    expect(logged?.data?.stdout).toContain("myapp 2.0.0");
  });

  it("reports a failing exit code and the last line of stderr", async () => {
    const result = await runCommand("echo doing; echo 'db unreachable' >&2; exit 4", {
      cwd: dir,
      timeoutSeconds: 10,
      env: env(),
      log: memoryLogger(),
      label: "post_update[1]",
    });
    expect(result.ok).toBe(false);
    expect(result.exitCode).toBe(4);
    expect(describeFailure("post_update[1]", result, 10)).toBe(
      "post_update[1] exited with 4: db unreachable",
    );
  });

  // A hook whose app directory an earlier hook removed failed "exited with null: spawn /bin/sh
  // ENOENT", naming the shell, which is there, and an exit code there never was.
  it("names a working directory that is gone or not a directory when a command cannot start", async () => {
    const gone = join(dir, "app");
    const file = join(dir, "file");
    await writeFile(file, "");
    for (const [cwd, why] of [
      [gone, `its working directory ${gone} does not exist (ENOENT)`],
      [file, `its working directory ${file} is not a directory`],
    ] as const) {
      const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
      const result = await runCommand("echo second", {
        cwd,
        timeoutSeconds: 10,
        env: env(),
        log: memoryLogger(lines),
        label: "pre_update hook[1]",
      });
      expect(result.ok).toBe(false);
      expect(describeFailure("pre_update hook[1]", result, 10)).toBe(
        `pre_update hook[1] could not start: ${why}`,
      );
      expect(lines.find((l) => l.level === "error")?.data?.stderr).toBe(why);
    }
  });

  it("quotes the last line without its colour and title codes, which a closing reset line no longer stands for", async () => {
    const command = String.raw`printf '\033]0;deploy\007\033[1;31mERROR\033[0m: db \033[4munreachable\033[24m\n\033[0m\033[K\n' >&2; exit 4`;
    const lines: { level: string; msg: string; data?: Record<string, unknown> }[] = [];
    const result = await runCommand(command, {
      cwd: dir,
      timeoutSeconds: 10,
      env: env(),
      log: memoryLogger(lines),
      label: "post_update[1]",
    });
    expect(describeFailure("post_update[1]", result, 10)).toBe(
      "post_update[1] exited with 4: ERROR: db unreachable",
    );
    // The log keeps what the command wrote, codes and all.
    expect(lines.find((l) => l.msg.startsWith("post_update[1]"))?.data?.stderr).toContain(
      "\u001b[1;31mERROR",
    );
  });

  it("kills a hanging command and everything it started within the timeout", async () => {
    const pidFile = join(dir, "sleep.pid");
    const started = performance.now();
    const result = await runCommand(`sleep 60 & echo $! > ${pidFile}; wait`, {
      cwd: dir,
      timeoutSeconds: 0.3,
      env: env(),
      log: memoryLogger(),
      label: "hook",
    });
    const elapsed = performance.now() - started;
    expect(result.ok).toBe(false);
    expect(result.timedOut).toBe(true);
    expect(elapsed).toBeLessThan(3000);
    const sleepPid = Number((await readFile(pidFile, "utf8")).trim());
    expect(isAlive(sleepPid)).toBe(false);
    expect(describeFailure("hook", result, 0.3)).toBe("hook timed out after 0.3s");
  });

  it("does not wait for a backgrounded child once the shell has exited", async () => {
    const started = performance.now();
    const result = await runCommand("sleep 60 & echo started", {
      cwd: dir,
      timeoutSeconds: 30,
      env: env(),
      log: memoryLogger(),
      label: "hook",
    });
    expect(result.ok).toBe(true);
    expect(result.stdout).toContain("started");
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it("keeps only a bounded amount of output", async () => {
    const result = await runCommand("head -c 100000 /dev/zero | tr '\\0' x", {
      cwd: dir,
      timeoutSeconds: 10,
      env: env(),
      log: memoryLogger(),
      label: "chatty",
      maxOutputBytes: 1000,
    });
    expect(result.ok).toBe(true);
    expect(result.stdout.startsWith("x".repeat(500))).toBe(true);
    expect(result.stdout).toContain("\n[... 99000 bytes not kept ...]\n");
    expect(result.stdout.endsWith("x".repeat(500))).toBe(true);
  });

  // Head and tail were decoded apart: a character across the cut (or across their meeting point,
  // when nothing was dropped at all) reached the log as U+FFFD, not as the command wrote it.
  it("keeps whole UTF-8 characters where the kept head and tail are cut or meet", async () => {
    const euros = async (count: number) =>
      runCommand(`yes '€' | head -n ${count} | tr -d '\\n'`, {
        cwd: dir,
        timeoutSeconds: 10,
        env: env(),
        log: memoryLogger(),
        label: "chatty",
        maxOutputBytes: 1000,
      });
    const whole = await euros(300); // 900 bytes: all kept; the head's 500 bytes end inside a €
    expect(whole.stdout).toBe("€".repeat(300));
    const cut = await euros(1000); // 3000 bytes
    expect(cut.stdout).not.toContain("\ufffd");
    expect(cut.stdout).toBe(`${"€".repeat(166)}\n[... 2004 bytes not kept ...]\n${"€".repeat(166)}`);
  });

  // The last line is the one that says why (a script's "restart failed: …" after its chatter): a
  // failure read "exited with 1: [... 223391 more bytes not kept]" where the reason had been cut.
  it("keeps the end of a chatty command's output, whose last line says why it failed", async () => {
    const command = "seq 1 50000; echo 'restart failed: port 8080 in use'; exit 1";
    const result = await runCommand(command, {
      cwd: dir,
      timeoutSeconds: 10,
      env: env(),
      log: memoryLogger(),
      label: "post_update hook[0]",
    });
    expect(result.stdout.startsWith("1\n2\n3\n")).toBe(true);
    expect(describeFailure("post_update hook[0]", result, 10)).toBe(
      "post_update hook[0] exited with 1: restart failed: port 8080 in use",
    );
  });

  it("quotes only the end of a megabyte-long last line", async () => {
    const command =
      "head -c 3000000 /dev/zero | tr '\\0' x; printf 'é: restart failed: port 8080 in use'; exit 1";
    const result = await runCommand(command, {
      cwd: dir,
      timeoutSeconds: 30,
      env: env(),
      log: memoryLogger(),
      label: "post_update hook[0]",
    });
    const said = describeFailure("post_update hook[0]", result, 30);
    expect(said.startsWith("post_update hook[0] exited with 1: …xxx")).toBe(true);
    expect(said.endsWith("xé: restart failed: port 8080 in use")).toBe(true);
    expect(said.length).toBe("post_update hook[0] exited with 1: ".length + MAX_QUOTED_LINE);
  });

  it("cuts a long last line neither inside a control character's \\u escape nor before an accent's mark", async () => {
    // The cut falls 3 characters into `\u0007` (the BEL printed), then on the combining acute of `é`.
    const cases = [
      { printed: "\\007%0396d", shown: "0".repeat(396) },
      { printed: "e\\314\\201%0398d", shown: "0".repeat(398) },
    ];
    for (const { printed, shown } of cases) {
      const result = await runCommand(`head -c 1000 /dev/zero | tr '\\0' x; printf '${printed}' 0; exit 1`, {
        cwd: dir,
        timeoutSeconds: 30,
        env: env(),
        log: memoryLogger(),
        label: "post_update hook[0]",
      });
      expect(describeFailure("post_update hook[0]", result, 30)).toBe(
        `post_update hook[0] exited with 1: …${shown}`,
      );
    }
  });
});

describe("runTestWithRetries", () => {
  it("retries a test that fails twice and then succeeds, counting attempts", async () => {
    const counter = join(dir, "count");
    await writeFile(counter, "0");
    const script = `n=$(cat ${counter}); n=$((n+1)); echo $n > ${counter}; [ $n -ge 3 ]`;
    const lines: { level: string; msg: string }[] = [];
    const result = await runTestWithRetries(
      { name: "health", command: script, timeout: 10, retry_count: 3, retry_delay: 5 },
      { cwd: dir, env: env(), log: memoryLogger(lines), delayScale: 0 },
    );
    expect(result.ok).toBe(true);
    expect(result.attempts).toBe(3);
    expect((await readFile(counter, "utf8")).trim()).toBe("3");
    // A check that passed in the end logs no ERROR: the attempts before are WARNINGs that say so.
    expect(lines.map((l) => `${l.level} ${l.msg}`)).toEqual([
      'warn post_update_test "health" (attempt 1/4) failed; trying again',
      'warn post_update_test "health" (attempt 2/4) failed; trying again',
      'info post_update_test "health" (attempt 3/4) succeeded',
    ]);
  });

  it("gives up after retry_count + 1 attempts", async () => {
    const counter = join(dir, "count");
    await writeFile(counter, "0");
    const script = `n=$(cat ${counter}); echo $((n+1)) > ${counter}; exit 1`;
    const lines: { level: string; msg: string }[] = [];
    const result = await runTestWithRetries(
      { name: "health", command: script, timeout: 10, retry_count: 2, retry_delay: 0 },
      { cwd: dir, env: env(), log: memoryLogger(lines) },
    );
    expect(result.ok).toBe(false);
    expect(result.attempts).toBe(3);
    expect(lines.map((l) => l.level)).toEqual(["warn", "warn", "error"]);
    expect((await readFile(counter, "utf8")).trim()).toBe("3");
  });
});

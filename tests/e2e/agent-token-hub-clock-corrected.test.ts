/**
 * A hub whose clock ran days ahead and was then corrected (a VM resumed from suspend, an RTC set
 * wrong until NTP stepped it back). While it ran ahead, every renewal it made also deleted each
 * agent's renewals that had "expired" by that clock, including the one a stopped agent still held:
 * once the clock was right again that agent, its first token long expired, was refused for good
 * ("invalid token: unknown jti", then "jwt expired") and needed a new token by hand. The renewal an
 * agent may hold now, its family's newest, is no longer deleted. Real hub and token CLI (their
 * `Date.now` moved through a file), real agents.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { runHubCli } from "../support/hub-cli.js";
import { fleetForFile } from "./fleet-for-file.js";

const HOUR = 3_600_000;
/** How long the stopped agent's first token has left when it is made. */
const FIRST_TOKEN_LEFT_MS = 15_000;

describe("a hub clock that ran ahead and was corrected", () => {
  const started = fleetForFile({ agents: 2, hubOnly: true });

  it("still takes the renewal a stopped agent holds", { timeout: 150_000 }, async () => {
    const { fleet } = started;
    // A process started with `clockEnv(file)` reads its clock as the host's plus the ms in `file`.
    const preload = join(fleet.dir, "moved-clock.mjs");
    await writeFile(
      preload,
      `import { readFileSync } from "node:fs";
const file = process.env.SHIP_TEST_CLOCK_OFFSET_FILE;
const wall = Date.now;
let offset = Number(readFileSync(file, "utf8"));
Date.now = () => wall() + offset;
setInterval(() => { offset = Number(readFileSync(file, "utf8")); }, 20).unref();
`,
    );
    const clockEnv = (file: string) => ({
      NODE_OPTIONS: `--import=${pathToFileURL(preload).href}`,
      SHIP_TEST_CLOCK_OFFSET_FILE: file,
    });
    const hubClock = join(fleet.dir, "hub-clock-offset");
    const stepHub = (ms: number) => writeFile(hubClock, String(ms));
    await stepHub(0);
    await fleet.stopHub();
    await fleet.startHub(clockEnv(hubClock));

    // "short": a 2-hour token made (by a clock set back) to expire in 15 s, so it is renewed at
    // once; "long": a 10-day token.
    const [short, long] = [fleet.agent(0), fleet.agent(1)];
    const cliClock = join(fleet.dir, "cli-clock-offset");
    let shortExpires = 0;
    for (const [index, ttl, behindMs] of [
      [0, "2h", 2 * HOUR - FIRST_TOKEN_LEFT_MS],
      [1, "10d", 0],
    ] as const) {
      const agent = fleet.agent(index);
      expect(await fleet.stopAgent(index)).toBe(0);
      await writeFile(cliClock, String(-behindMs));
      if (index === 0) shortExpires = Date.now() + FIRST_TOKEN_LEFT_MS;
      const minted = await runHubCli(
        fleet.dir,
        ["token", "create", "--config", "hub.toml", "--role", "agent", "--agent", agent.id, "--ttl", ttl],
        clockEnv(cliClock),
      );
      expect(minted.code, minted.stderr).toBe(0);
      await writeFile(join(agent.root, "token"), `${minted.stdout.trim()}\n`);
      await fleet.startAgent(index);
    }
    const online = async (id: string) =>
      (await fleet.api<{ online: boolean }>("GET", `/agents/${id}`)).online;
    const renewals = async (root: string) =>
      (await readFile(join(root, "agent.log"), "utf8")).split("renewed this agent's token").length - 1;
    await fleet.waitFor("short renewed", async () => (await renewals(short.root)) > 0);
    expect(await fleet.stopAgent(0)).toBe(0);

    // Six days ahead: "long" is past half its life and renewed at its next ping, which used to
    // delete short's renewal ("expired" days ago by this clock).
    await fleet.waitFor("long online", () => online(long.id));
    await stepHub(6 * 24 * HOUR);
    await fleet.waitFor("long renewed", async () => (await renewals(long.root)) > 0);

    // The clock is right again, short's first token has expired: it comes back on its renewal.
    await stepHub(0);
    await sleep(Math.max(0, shortExpires - Date.now() + 1000));
    const from = (await readFile(join(short.root, "agent.log"), "utf8")).length;
    await fleet.startAgent(0);
    await fleet.waitFor("short online again", () => online(short.id), 30_000);
    expect((await readFile(join(short.root, "agent.log"), "utf8")).slice(from)).not.toContain("unknown jti");
  });
});
